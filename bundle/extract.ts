import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar, { type ExtractEvents } from 'tar-stream';
import { isStellaError, StellaError } from '../domain/errors.js';
import { assertSafeRelativePath } from './files.js';
import { createZstdDecompressStream, type ZstdDecompressStream } from './zstd-decompress.js';

// Unpacks a .tar.zst bundle into an empty folder. Only regular files and folders are
// accepted; an entry that is a link, absolute, or climbs out with '..' fails the whole
// extraction with integrity_failed. Whatever stops the extraction, the zstd process and
// every stream are torn down before the error reaches the caller.
export async function extractTarZst(archivePath: string, targetDir: string): Promise<string[]> {
  await mkdir(targetDir, { recursive: true });
  const extract = tar.extract();
  const written: string[] = [];
  const done = pipeline(createReadStream(archivePath), decompressor(), extract);
  // A failure upstream (corrupt zstd data) does not reliably end the tar entry being copied
  // (tar-stream's entries are streamx streams), so each copy also races the pipeline's
  // failure, and the file being written is closed on the way out.
  const failed = failureOf(done);
  const sinks = new Set<Writable>();
  try {
    for await (const entry of extract) {
      const name = bundleEntryPath(entry.header.name, entry.header.type);
      const writing = writeEntry(targetDir, name, entry, written, sinks);
      writing.catch(() => undefined);
      await Promise.race([writing, failed]);
    }
    await done;
  } catch (err) {
    extract.destroy();
    sinks.forEach((sink) => sink.destroy());
    await done.catch(() => undefined);
    throw unreadable(archivePath, err);
  }

  return written;
}

// Rejects when `pipeline` does and never resolves: a per-entry read raced against it ends
// when the archive turns out to be unreadable, even if the entry itself never does.
export function failureOf(pipeline: Promise<unknown>): Promise<never> {
  const failed = new Promise<never>((_resolve, reject) => {
    pipeline.catch(reject);
  });
  failed.catch(() => undefined);

  return failed;
}

// The path an archive entry stands for inside the bundle, or undefined for the bundle root.
// `tar -C folder .` names every entry `./…` and adds a `./` root entry: the leading `./`
// is dropped; everything else is checked exactly as written.
export function bundleEntryPath(
  rawName: string,
  type: string | null | undefined,
): string | undefined {
  const relative = stripCurrentFolderPrefix(rawName);
  if (relative === '' && rawName !== '' && type === 'directory') {
    return undefined;
  }
  const name = relative.replace(/\/$/, '');
  checkEntry(name, type);

  return name;
}

export function stripCurrentFolderPrefix(rawName: string): string {
  if (rawName === '.' || rawName === './') {
    return '';
  }

  return rawName.startsWith('./') ? rawName.slice(2) : rawName;
}

// The zstd stage of every bundle reader: destroying it kills the zstd process.
export function decompressor(): ZstdDecompressStream {
  const stream = createZstdDecompressStream();
  // A failure after the pipeline has settled was already reported through the pipeline.
  stream.on('error', () => undefined);

  return stream;
}

// Truncated or corrupted archives are an integrity failure, never an internal error.
export function unreadable(archivePath: string, err: unknown): StellaError {
  if (isStellaError(err)) {
    return err;
  }

  const reason = (err as Error)?.message ?? String(err);
  const message = `${archivePath} is not a readable .tar.zst bundle: ${reason}`;

  return new StellaError('integrity_failed', message, { cause: err });
}

async function writeEntry(
  targetDir: string,
  name: string | undefined,
  entry: ExtractEvents['entry'][1],
  written: string[],
  sinks: Set<Writable>,
): Promise<void> {
  if (name === undefined || entry.header.type === 'directory') {
    await mkdir(path.join(targetDir, name ?? ''), { recursive: true });
    entry.resume();

    return;
  }
  const target = path.join(targetDir, name);
  await mkdir(path.dirname(target), { recursive: true });
  const sink = createWriteStream(target, { flags: 'wx' });
  sinks.add(sink);
  await pipeline(entry, sink);
  sinks.delete(sink);
  written.push(name);
}

function checkEntry(name: string, type: string | null | undefined) {
  if (type !== 'file' && type !== 'directory') {
    const message = `bundle entry ${JSON.stringify(name)} is a ${type}; only files are allowed`;
    throw new StellaError('integrity_failed', message);
  }
  try {
    assertSafeRelativePath(name);
  } catch (err) {
    const message = `bundle entry ${JSON.stringify(name)} escapes the bundle`;
    throw new StellaError('integrity_failed', message, { cause: err });
  }
}
