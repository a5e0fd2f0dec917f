import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { StellaError } from '../domain/errors.js';
import { readJsonlZst } from '../policy/read-jsonl-zst.js';
import { MANIFEST_PATH, type ExportManifest, type ManifestFile } from './manifest.js';
import { partPath } from './sharded-jsonl.js';

// Readers of json:raw and json:policy bundles name a data file by the path it has when it
// is not split; these resolve that name to the file itself or to its numbered parts.

// The bundle-relative paths holding `relative`, in record order. export.json decides when
// the folder has one; a folder without it (an adapter's staging folder) is read as it is.
export async function dataFileParts(bundleDir: string, relative: string): Promise<string[]> {
  const manifest = await readManifestIfAny(bundleDir);
  if (manifest) {
    return listedParts(manifest, relative);
  }

  return partsOnDisk(bundleDir, relative);
}

function listedParts(manifest: ExportManifest, relative: string): string[] {
  const parts = partsInManifest(manifest.files ?? [], relative);
  if (parts.length === 0) {
    throw new StellaError('integrity_failed', `${MANIFEST_PATH} lists no ${relative}`);
  }

  return parts.map((file) => file.path);
}

// Every line of a JSONL+zstd data file, across all its parts.
export async function* readDataLines(bundleDir: string, relative: string): AsyncGenerator<string> {
  for (const part of await dataFileParts(bundleDir, relative)) {
    yield* readJsonlZst(path.join(bundleDir, part));
  }
}

// The manifest entries of `relative`: the file itself, or its parts 1…count in order. A
// gap, a duplicate, a count that disagrees or a whole file listed beside parts is an
// integrity failure: reading on would silently drop or repeat records.
export function partsInManifest(files: ManifestFile[], relative: string): ManifestFile[] {
  const whole = files.filter((file) => file.path === relative && !file.shard);
  const parts = files
    .filter((file) => file.shard?.of === relative)
    .sort((a, b) => a.shard!.index - b.shard!.index);
  if (parts.length === 0) {
    return whole;
  }

  const problem = whole.length > 0 ? 'is listed whole and in parts' : sequenceProblem(parts);
  if (problem) {
    throw new StellaError('integrity_failed', `${relative} ${problem}`);
  }

  return parts;
}

function sequenceProblem(parts: ManifestFile[]): string | undefined {
  const count = parts[0].shard!.count;
  for (const [at, part] of parts.entries()) {
    if (part.shard!.index !== at + 1 || part.shard!.count !== count) {
      return `has parts out of sequence at ${part.path}`;
    }
  }

  return parts.length === count ? undefined : `has ${parts.length} of ${count} parts`;
}

async function partsOnDisk(bundleDir: string, relative: string): Promise<string[]> {
  const folder = path.join(bundleDir, path.posix.dirname(relative));
  const names = new Set(await readdir(folder).catch(() => [] as string[]));
  if (names.has(path.posix.basename(relative))) {
    return [relative];
  }

  const parts: string[] = [];
  while (names.has(path.posix.basename(partPath(relative, parts.length + 1)))) {
    parts.push(partPath(relative, parts.length + 1));
  }

  return parts.length > 0 ? parts : [relative];
}

async function readManifestIfAny(bundleDir: string): Promise<ExportManifest | undefined> {
  const text = await readFile(path.join(bundleDir, MANIFEST_PATH), 'utf8').catch(() => undefined);
  if (text === undefined) {
    return undefined;
  }

  try {
    return JSON.parse(text) as ExportManifest;
  } catch (err) {
    throw new StellaError('malformed_document', `${MANIFEST_PATH} is not JSON`, { cause: err });
  }
}
