import { createReadStream } from 'node:fs';
import { mkdtemp, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { ZSTDDecompress } from 'simple-zstd';
import { extractOciLayout, isOciLayout } from '../adapters/mirror/oci-layout.js';
import { decompressor, extractTarZst, unreadable } from '../bundle/extract.js';
import { removeQuietly } from '../bundle/files.js';
import { StellaError } from '../domain/errors.js';
import { manifestPathProblem } from '../signing/bundle-files.js';

// Turns what the user hands the reader (an unpacked folder, a .tar.zst, or an OCI image
// layout) into a bundle folder. Archives and layouts are unpacked into a fresh temp folder;
// an entry that is a link or would land outside it fails the whole import.

export interface OpenedBundle {
  dir: string;
  cleanup(): Promise<void>;
}

export async function openBundle(source: string, ociReference?: string): Promise<OpenedBundle> {
  const info = await stat(source).catch((err: unknown) => {
    throw new StellaError('not_found', `${source} does not exist`, { cause: err });
  });
  if (info.isDirectory() && !(await isOciLayout(source))) {
    return { dir: path.resolve(source), cleanup: async () => undefined };
  }

  const dir = await mkdtemp(path.join(os.tmpdir(), 'stella-mirror-import-'));
  try {
    if (info.isDirectory()) {
      await extractOciLayout(source, dir, ociReference);
    } else {
      await assertSafeArchive(source);
      await extractTarZst(source, path.join(dir, 'bundle'));
    }
  } catch (err) {
    await removeQuietly(dir);
    throw err;
  }
  const bundleDir = info.isDirectory() ? dir : path.join(dir, 'bundle');

  return { dir: bundleDir, cleanup: () => removeQuietly(dir) };
}

// Reads every entry header before anything is written: only regular files and folders, at
// paths that stay inside the bundle. (extractTarZst checks the same while writing; checking
// first means a refused archive leaves nothing behind.)
async function assertSafeArchive(archive: string): Promise<void> {
  const extract = tar.extract();
  const done = pipeline(createReadStream(archive), decompressor(), extract);
  done.catch(() => undefined);
  let problem: StellaError | undefined;
  try {
    for await (const entry of extract) {
      problem = entryProblem(entry.header.name, entry.header.type);
      entry.resume();
      if (problem) {
        break;
      }
    }
  } catch (err) {
    throw unreadable(archive, err);
  }
  await done.catch((err: unknown) => {
    if (!problem) {
      throw new StellaError('integrity_failed', `${archive} is not a readable .tar.zst`, { cause: err });
    }
  });
  if (problem) {
    throw problem;
  }
}

function entryProblem(name: string, type: string | null | undefined): StellaError | undefined {
  const relative = name.replace(/\/$/, '');
  const problem = type === 'file' || type === 'directory'
    ? manifestPathProblem(relative)
    : `is a ${type ?? 'special entry'}; only files and folders are allowed`;

  return problem
    ? new StellaError('integrity_failed', `archive entry ${JSON.stringify(name)}: ${problem}`)
    : undefined;
}

// Lines of a zstd-compressed JSONL file, without their line ends.
export async function* jsonlZstLines(file: string): AsyncGenerator<string> {
  const decompress = ZSTDDecompress();
  const input = createReadStream(file).pipe(decompress);
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.length > 0) {
      yield line;
    }
  }
}
