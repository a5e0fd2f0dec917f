// metadata.json and db.tar.gz as Trivy downloads them (docs/formats/trivy-db.md sections 2 and 12.1):
// a gzip'd tar with both files at its root. Headers are fixed (mode 0644, owner 0/0, no
// names, mtime = the build clock) and Node's gzip writes no timestamp, so equal inputs give
// equal bytes on one Node/zlib version.
import { createReadStream, createWriteStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

import tarStream from 'tar-stream';

export const TRIVY_DB_SCHEMA_VERSION = 2;
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';
const OFFICIAL_UPDATE_INTERVAL_MS = 24 * 60 * 60 * 1000;

export async function writeTrivyMetadata(path: string, now: Date): Promise<void> {
  const metadata = {
    Version: TRIVY_DB_SCHEMA_VERSION,
    NextUpdate: goTime(new Date(now.getTime() + OFFICIAL_UPDATE_INTERVAL_MS)),
    UpdatedAt: goTime(now),
    DownloadedAt: GO_ZERO_TIME, // Trivy fills this in after a download
  };
  await writeFile(path, JSON.stringify(metadata));
}

export async function writeDbArchive(
  archivePath: string,
  files: string[],
  mtime: Date,
): Promise<void> {
  const pack = tarStream.pack();
  const done = pipeline(pack, createGzip({ level: 9 }), createWriteStream(archivePath));
  for (const file of files) await addFile(pack, file, mtime);
  pack.finalize();
  await done;
}

async function addFile(pack: tarStream.Pack, file: string, mtime: Date): Promise<void> {
  const { size } = await stat(file);
  const header = { name: basename(file), size, mode: 0o644, uid: 0, gid: 0, uname: '', gname: '' };
  const entry = pack.entry({
    ...header,
    mtime: new Date(Math.floor(mtime.getTime() / 1000) * 1000),
  });
  await pipeline(createReadStream(file), entry);
}

// Go's time.Time JSON form: RFC 3339 in UTC with trailing zero fractions dropped.
function goTime(date: Date): string {
  return date.toISOString().replace(/\.?0+Z$/, 'Z');
}
