import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';

export interface FileDigest {
  sha256: string;
  size: number;
}

export async function digestFile(filePath: string): Promise<FileDigest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(filePath)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).byteLength;
  }

  return { sha256: hash.digest('hex'), size };
}

export async function digestIfExists(filePath: string): Promise<FileDigest | undefined> {
  const exists = await stat(filePath).then(
    (s) => s.isFile(),
    () => false,
  );

  return exists ? digestFile(filePath) : undefined;
}

// Passes bytes through while hashing them, so a file's digest costs no second read.
export class DigestingStream extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
    this.hash.update(chunk);
    this.bytes += chunk.byteLength;
    done(null, chunk);
  }

  digest(): FileDigest {
    return { sha256: this.hash.digest('hex'), size: this.bytes };
  }
}

// Writes a whole file under a temporary name and renames it into place: a reader never sees
// a half-written file under the final name.
export async function writeFileAtomic(filePath: string, data: string | Uint8Array) {
  await mkdir(path.dirname(filePath), { recursive: true });
  const temporary = temporaryNameFor(filePath);
  await writeFile(temporary, data);
  await rename(temporary, filePath);
}

export function temporaryNameFor(filePath: string): string {
  return path.join(path.dirname(filePath), `.${path.basename(filePath)}.partial`);
}

export async function removeQuietly(target: string): Promise<void> {
  await rm(target, { recursive: true, force: true });
}

// Bundle-relative paths always use forward slashes and never leave the bundle.
export function assertSafeRelativePath(relative: string): void {
  const normalized = path.posix.normalize(relative);
  if (
    relative.length === 0 ||
    path.posix.isAbsolute(relative) ||
    normalized.startsWith('..') ||
    normalized !== relative ||
    relative.includes('\\') ||
    relative.includes('\0')
  ) {
    throw new Error(`unsafe bundle path: ${JSON.stringify(relative)}`);
  }
}
