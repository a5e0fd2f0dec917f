// Finds or builds the real Trivy scanner for compatibility tests:
//   1. $TRIVY_BIN, 2. .tools/trivy/<version>/trivy, 3. `go install ...@<version>` into 2.
// Trivy v0.74.0 imports encoding/json/v2, which Go 1.25/1.26 only build with
// GOEXPERIMENT=jsonv2 (Trivy's own release builds set it too).
import { execFile } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { crc32, createGunzip } from 'node:zlib';

import tarStream from 'tar-stream';

const run = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const DEFAULT_TRIVY_VERSION = 'v0.74.0';
const BUILD_TIMEOUT_MS = 40 * 60 * 1000;
const LOCK_STALE_MS = BUILD_TIMEOUT_MS;

export type TrivyLookup = { path: string; version: string } | { reason: string };

export async function ensureTrivy(
  version = process.env.TRIVY_VERSION ?? DEFAULT_TRIVY_VERSION,
): Promise<TrivyLookup> {
  if (process.env.TRIVY_BIN) return { path: process.env.TRIVY_BIN, version: 'from TRIVY_BIN' };

  const binDir = join(repoRoot, '.tools/trivy', version);
  const binary = join(binDir, 'trivy');
  if (existsSync(binary)) return { path: binary, version };

  return buildTrivy(version, binDir, binary);
}

async function buildTrivy(version: string, binDir: string, binary: string): Promise<TrivyLookup> {
  const lock = `${binDir}.lock`;
  mkdirSync(dirname(lock), { recursive: true });
  if (!takeLock(lock)) return { reason: `another process is building trivy ${version} (${lock})` };

  try {
    const env = {
      ...process.env,
      GOBIN: binDir,
      GOEXPERIMENT: process.env.GOEXPERIMENT ?? 'jsonv2',
    };
    const module = `github.com/aquasecurity/trivy/cmd/trivy@${version}`;
    await run('go', ['install', module], { env, timeout: BUILD_TIMEOUT_MS, maxBuffer: 1 << 26 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    const message = (err as Error).message;
    return { reason: `go install trivy ${version} failed: ${message}\n${stderr.slice(-2000)}` };
  } finally {
    rmdirSync(lock);
  }

  return existsSync(binary)
    ? { path: binary, version }
    : { reason: `go install left no ${binary}` };
}

function takeLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    return true;
  } catch {
    if (Date.now() - statSync(lock).mtimeMs < LOCK_STALE_MS) return false;

    rmdirSync(lock);
    return takeLock(lock);
  }
}

export interface TrivyFinding {
  target: string;
  type: string;
  pkgName: string;
  installedVersion: string;
  vulnerabilityId: string;
  severity: string;
  fixedVersion: string;
  dataSourceId?: string;
}

// Runs `trivy fs` (lockfiles) or `trivy rootfs` (also JARs) fully offline against a cache dir
// that holds db/trivy.db and, for JARs, java-db/trivy-java.db.
export async function scanWithTrivy(
  trivy: string,
  cacheDir: string,
  target: string,
  command: 'fs' | 'rootfs' = 'fs',
): Promise<TrivyFinding[]> {
  const offline = '--skip-db-update --skip-java-db-update --offline-scan --skip-version-check';
  const output = '--scanners vuln --disable-telemetry --format json --quiet';
  const args = [command, '--cache-dir', cacheDir, ...`${offline} ${output}`.split(' '), target];
  const { stdout } = await run(trivy, args, {
    maxBuffer: 1 << 28,
    timeout: 600_000,
    env: trivyEnv(cacheDir),
  });

  return findingsOf(JSON.parse(stdout) as TrivyReport);
}

interface TrivyReport {
  Results?: {
    Target: string;
    Type: string;
    Vulnerabilities?: {
      VulnerabilityID: string;
      PkgName: string;
      InstalledVersion: string;
      FixedVersion?: string;
      Severity: string;
      DataSource?: { ID: string };
    }[];
  }[];
}

function findingsOf(report: TrivyReport): TrivyFinding[] {
  return (report.Results ?? []).flatMap((result) =>
    (result.Vulnerabilities ?? []).map((v) => ({
      target: result.Target,
      type: result.Type,
      pkgName: v.PkgName,
      installedVersion: v.InstalledVersion,
      vulnerabilityId: v.VulnerabilityID,
      severity: v.Severity,
      fixedVersion: v.FixedVersion ?? '',
      dataSourceId: v.DataSource?.ID,
    })),
  );
}

// Keeps Trivy away from the user's own cache and config.
function trivyEnv(cacheDir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: cacheDir,
    XDG_CACHE_HOME: cacheDir,
    TRIVY_NO_PROGRESS: 'true',
  };
}

// Unpacks db.tar.gz (or javadb.tar.gz) the way Trivy's downloader does: both files at the
// root of <cache>/db (or <cache>/java-db).
export async function installDbArchive(
  archive: string,
  cacheDir: string,
  subdir: 'db' | 'java-db' = 'db',
): Promise<string[]> {
  const dbDir = join(cacheDir, subdir);
  await mkdir(dbDir, { recursive: true });
  const names: string[] = [];
  const extract = tarStream.extract();
  const unpacked = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      await writeFile(join(dbDir, entry.header.name), Buffer.concat(chunks));
      names.push(entry.header.name);
    }
  })();
  await pipeline(createReadStream(archive), createGunzip(), extract);
  await unpacked;

  return names.sort();
}

// A ZIP archive with uncompressed ("stored") entries: enough for a JAR that Trivy opens.
export function storedZip(entries: { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const fileName = Buffer.from(name);
    const sizes = { crc: crc32(data), size: data.length, nameLength: fileName.length };
    locals.push(zipHeader(0x04034b50, sizes), fileName, data);
    centrals.push(zipHeader(0x02014b50, { ...sizes, offset }), fileName);
    offset += 30 + fileName.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);

  return Buffer.concat([...locals, directory, end]);
}

// Local file header (30 bytes) or central directory header (46 bytes, has `offset`).
function zipHeader(
  signature: number,
  f: { crc: number; size: number; nameLength: number; offset?: number },
): Buffer {
  const central = f.offset !== undefined;
  const header = Buffer.alloc(central ? 46 : 30);
  const at = central ? 2 : 0; // the central header has an extra "version made by" field
  header.writeUInt32LE(signature, 0);
  if (central) header.writeUInt16LE(20, 4);
  header.writeUInt16LE(20, 4 + at);
  header.writeUInt32LE(f.crc, 14 + at);
  header.writeUInt32LE(f.size, 18 + at);
  header.writeUInt32LE(f.size, 22 + at);
  header.writeUInt16LE(f.nameLength, 26 + at);
  if (central) header.writeUInt32LE(f.offset as number, 42);

  return header;
}
