import { createReadStream } from 'node:fs';
import readline from 'node:readline';
import { decompressor } from '../bundle/extract.js';

// The lines of a zstd-compressed JSONL file, streamed (as bundle/jsonl-zst.ts writes them).
// A caller that stops early (break, a thrown parse error) reaches the finally block, which
// kills the zstd process: left alone it would block on a full pipe and keep Node alive.
export async function* readJsonlZst(filePath: string): AsyncGenerator<string> {
  const source = createReadStream(filePath);
  const decompressed = decompressor();
  source.on('error', (err) => decompressed.destroy(err));
  source.pipe(decompressed);
  const lines = readline.createInterface({ input: decompressed, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (line.length > 0) {
        yield line;
      }
    }
  } finally {
    lines.close();
    source.destroy();
    decompressed.destroy();
    await decompressed.whenClosed();
  }
}
