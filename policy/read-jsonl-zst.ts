import { createReadStream } from 'node:fs';
import readline from 'node:readline';
import { ZSTDDecompress } from 'simple-zstd';

// The lines of a zstd-compressed JSONL file, streamed (as bundle/jsonl-zst.ts writes them).
export async function* readJsonlZst(filePath: string): AsyncGenerator<string> {
  const source = createReadStream(filePath);
  const decompressed = source.pipe(ZSTDDecompress());
  source.on('error', (err) => decompressed.destroy(err));
  const lines = readline.createInterface({ input: decompressed, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.length > 0) {
      yield line;
    }
  }
}
