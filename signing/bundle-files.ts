// File-system side of bundle verification: manifest path rules, a walk that never follows
// symbolic links, streamed SHA-256, and reads of files that may be missing.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { StellaError } from '../domain/errors.js';

export interface BundleTree {
  files: Map<string, number>; // regular files: relative path → size
  nonRegular: Map<string, string>; // symbolic links, sockets, … : relative path → kind
}

// Manifest paths are relative with forward slashes. Anything that could name a file outside
// the bundle, or the same file twice, is refused.
export function manifestPathProblem(path: string): string | undefined {
  if (path === '') return 'the path is empty';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'the path is absolute';
  if (path.includes('\\')) return 'the path contains a backslash';
  if (path.includes('\0')) return 'the path contains a NUL character';

  const segments = path.split('/');
  if (segments.includes('..')) return 'the path contains ".."';
  if (segments.some((segment) => segment === '' || segment === '.')) {
    return 'the path has an empty or "." segment';
  }

  return undefined;
}

export async function walkBundle(bundleDir: string): Promise<BundleTree> {
  const tree: BundleTree = { files: new Map(), nonRegular: new Map() };
  await walkInto(tree, bundleDir, '');

  return tree;
}

async function walkInto(tree: BundleTree, root: string, prefix: string): Promise<void> {
  const entries = await readdir(join(root, prefix), { withFileTypes: true });
  for (const entry of entries) {
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      await walkInto(tree, root, relative);
    } else if (entry.isFile()) {
      tree.files.set(relative, (await lstat(join(root, relative))).size);
    } else {
      tree.nonRegular.set(relative, entry.isSymbolicLink() ? 'a symbolic link' : 'not a file');
    }
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);

  return hash.digest('hex');
}

// Runs `work` over `items` with at most `limit` in flight, keeping input order in the result.
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));

  return results;
}

// A bundle file's bytes, or undefined when it is not there (or is a folder): a missing file
// is a verification failure for the caller to report, an unreadable one is not.
export async function readIfPresent(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR') return undefined;
    throw new StellaError('unavailable', `cannot read ${path}`, { cause: err });
  }
}
