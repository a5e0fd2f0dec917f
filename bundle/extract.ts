import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { ZSTDDecompress } from 'simple-zstd';
import { isStellaError, StellaError } from '../domain/errors.js';
import { assertSafeRelativePath } from './files.js';

// Unpacks a .tar.zst bundle into an empty folder. Only regular files and folders are
// accepted; an entry that is a link, absolute, or climbs out with '..' fails the whole
// extraction with integrity_failed.
export async function extractTarZst(archivePath: string, targetDir: string): Promise<string[]> {
  await mkdir(targetDir, { recursive: true });
  const extract = tar.extract();
  const written: string[] = [];
  const done = pipeline(createReadStream(archivePath), decompressor(), extract);
  // A refused entry abandons the pipeline; its rejection is the expected consequence.
  done.catch(() => undefined);

  try {
    for await (const entry of extract) {
      const name = entry.header.name.replace(/\/$/, '');
      checkEntry(name, entry.header.type);
      if (entry.header.type === 'directory') {
        await mkdir(path.join(targetDir, name), { recursive: true });
        entry.resume();
        continue;
      }
      const target = path.join(targetDir, name);
      await mkdir(path.dirname(target), { recursive: true });
      await pipeline(entry, createWriteStream(target, { flags: 'wx' }));
      written.push(name);
    }
    await done;
  } catch (err) {
    throw unreadable(archivePath, err);
  }

  return written;
}

// A zstd process that fails after its stream has ended reports it on a stream nobody
// listens to any more; the pipeline has already seen the failure, so it is not lost.
export function decompressor() {
  const stream = ZSTDDecompress();
  stream.on('error', () => undefined);

  return stream;
}

// Truncated or corrupted archives are an integrity failure, never an internal error.
export function unreadable(archivePath: string, err: unknown): StellaError {
  if (isStellaError(err)) {
    return err;
  }

  return new StellaError('integrity_failed', `${archivePath} is not a readable .tar.zst bundle: ${(err as Error)?.message ?? err}`, { cause: err });
}

function checkEntry(name: string, type: string | null | undefined) {
  if (type !== 'file' && type !== 'directory') {
    throw new StellaError('integrity_failed', `bundle entry ${JSON.stringify(name)} is a ${type}; only files are allowed`);
  }
  try {
    assertSafeRelativePath(name);
  } catch (err) {
    throw new StellaError('integrity_failed', `bundle entry ${JSON.stringify(name)} escapes the bundle`, { cause: err });
  }
}
