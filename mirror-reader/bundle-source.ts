import { createReadStream } from 'node:fs';
import { mkdtemp, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { extractOciLayout, isOciLayout } from '../adapters/mirror/oci-layout.js';
import {
  decompressor,
  extractTarZst,
  stripCurrentFolderPrefix,
  unreadable,
} from '../bundle/extract.js';
import { removeQuietly } from '../bundle/files.js';
import { StellaError } from '../domain/errors.js';
import { readJsonlZst } from '../policy/read-jsonl-zst.js';
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
// first means a refused archive leaves nothing behind.) Leaving the loop early destroys the
// tar parser, and the pipeline then tears down the zstd process with it.
async function assertSafeArchive(archive: string): Promise<void> {
  const extract = tar.extract();
  const done = pipeline(createReadStream(archive), decompressor(), extract);
  // Awaited below; this only keeps an early failure from counting as unhandled.
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
    await done.catch(() => undefined);
    throw unreadable(archive, err);
  }
  await done.catch((err: unknown) => {
    if (!problem) {
      const message = `${archive} is not a readable .tar.zst`;
      throw new StellaError('integrity_failed', message, { cause: err });
    }
  });
  if (problem) {
    throw problem;
  }
}

// `tar -C folder .` writes `./name` entries and a `./` root entry: both are read without
// the `./`, as extractTarZst does.
function entryProblem(name: string, type: string | null | undefined): StellaError | undefined {
  const withoutPrefix = stripCurrentFolderPrefix(name);
  if (withoutPrefix === '' && name !== '' && type === 'directory') {
    return undefined;
  }
  const relative = withoutPrefix.replace(/\/$/, '');
  const problem = type === 'file' || type === 'directory'
    ? manifestPathProblem(relative)
    : `is a ${type ?? 'special entry'}; only files and folders are allowed`;

  return problem
    ? new StellaError('integrity_failed', `archive entry ${JSON.stringify(name)}: ${problem}`)
    : undefined;
}

// Lines of a zstd-compressed JSONL file, without their line ends (one reader for every
// bundle consumer: it stops its zstd process when the caller stops early).
export function jsonlZstLines(file: string): AsyncGenerator<string> {
  return readJsonlZst(file);
}
