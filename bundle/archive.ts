import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { ZSTDCompress } from 'simple-zstd';
import { DigestingStream, temporaryNameFor, type FileDigest } from './files.js';

// Packs a bundle folder as one .tar.zst. Entries are sorted and carry no owner, no time and
// fixed modes, so the same folder always packs to the same bytes.
export async function packTarZst(sourceDir: string, archivePath: string): Promise<FileDigest> {
  const entries = await listFiles(sourceDir);
  const pack = tar.pack();
  const digest = new DigestingStream();
  const temporary = temporaryNameFor(archivePath);
  const written = pipeline(pack, ZSTDCompress(3), digest, createWriteStream(temporary));

  for (const relative of entries) {
    const absolute = path.join(sourceDir, relative);
    const { size } = await stat(absolute);
    const entry = pack.entry({
      name: relative,
      size,
      mode: 0o644,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      uname: '',
      gname: '',
    });
    await pipeline(createReadStream(absolute), entry);
  }
  pack.finalize();
  await written;
  await rename(temporary, archivePath);

  return digest.digest();
}

// Every regular file below `dir`, as sorted forward-slash paths. Links are never followed.
export async function listFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (relative: string) => {
    const entries = await readdir(path.join(dir, relative), { withFileTypes: true });
    for (const entry of entries) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        await walk(child);
      } else if (entry.isFile()) {
        found.push(child);
      }
    }
  };
  await walk('');

  return found.sort();
}
