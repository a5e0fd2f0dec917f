import { readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeJsonlZst } from './jsonl-zst.js';
import type { ManifestFile, ManifestShard } from './manifest.js';

export const JSONL_ZST = 'application/x-ndjson+zstd';

// A data file is split into parts before it passes either limit. Bytes are the uncompressed
// JSONL (lines and their '\n'): what a reader holds in memory and what the compression
// level cannot change, so the split points are the same on every machine.
export const DEFAULT_PART_BYTES = 256 * 1024 * 1024;
export const DEFAULT_PART_RECORDS = 1_000_000;

export interface PartLimits {
  bytes: number;
  records: number;
}

export interface ShardedJsonlOptions {
  stagingDir: string;
  // The bundle-relative path of the file when it is not split, e.g. `vex/normalized.jsonl.zst`.
  relative: string;
  contentType: string;
  limits: PartLimits;
  // The sort key of a record, recorded for the first and last record of each part.
  keyOf?: (line: string) => string;
  onProgress?: (file: string, records: number) => void;
}

// Streams lines into one JSONL+zstd file, or into numbered parts `<stem>-0001<ext>`, … when
// they pass a limit. A record never spans two parts, so a line longer than `bytes` is a
// part of its own. The same lines and limits always give the same parts and bytes.
export async function writeShardedJsonl(
  lines: AsyncIterable<string>,
  options: ShardedJsonlOptions,
): Promise<ManifestFile[]> {
  assertLimits(options.limits);
  await removeEarlierParts(options.stagingDir, options.relative);
  const cursor = new LineCursor(lines[Symbol.asyncIterator]());
  const parts: WrittenPart[] = [];
  do {
    parts.push(await writePart(cursor, options, parts.length + 1));
  } while (!(await cursor.done()));

  return parts.length === 1 ? [await keepWhole(options, parts[0])] : describeParts(options, parts);
}

// The path of part `index` (1-based) of a split file.
export function partPath(relative: string, index: number): string {
  const { stem, extension } = splitName(relative);

  return `${stem}-${String(index).padStart(4, '0')}${extension}`;
}

interface WrittenPart {
  file: ManifestFile;
  firstKey?: string;
  lastKey?: string;
}

async function writePart(
  cursor: LineCursor,
  options: ShardedJsonlOptions,
  index: number,
): Promise<WrittenPart> {
  const relative = partPath(options.relative, index);
  const bounds: { first?: string; last?: string } = {};
  const written = await writeJsonlZst(
    path.join(options.stagingDir, relative),
    linesOfPart(cursor, options.limits, bounds),
    { onProgress: (records) => options.onProgress?.(relative, records) },
  );
  const keys = keysOf(options, bounds);
  const file: ManifestFile = { path: relative, mediaType: JSONL_ZST, ...written };

  return { file, ...keys };
}

async function* linesOfPart(
  cursor: LineCursor,
  limits: PartLimits,
  bounds: { first?: string; last?: string },
): AsyncGenerator<string> {
  let bytes = 0;
  let records = 0;
  for (let line = await cursor.peek(); line !== undefined; line = await cursor.peek()) {
    const size = Buffer.byteLength(line, 'utf8') + 1;
    if (records > 0 && (bytes + size > limits.bytes || records >= limits.records)) {
      return;
    }

    cursor.take();
    bytes += size;
    records += 1;
    bounds.first ??= line;
    bounds.last = line;
    yield line;
  }
}

function keysOf(options: ShardedJsonlOptions, bounds: { first?: string; last?: string }) {
  if (!options.keyOf || bounds.first === undefined || bounds.last === undefined) {
    return {};
  }

  return { firstKey: options.keyOf(bounds.first), lastKey: options.keyOf(bounds.last) };
}

// A file that fits in one part keeps the name it has always had, and no shard entry.
async function keepWhole(options: ShardedJsonlOptions, part: WrittenPart): Promise<ManifestFile> {
  const from = path.join(options.stagingDir, part.file.path);
  await rename(from, path.join(options.stagingDir, options.relative));

  return { ...part.file, path: options.relative };
}

function describeParts(options: ShardedJsonlOptions, parts: WrittenPart[]): ManifestFile[] {
  return parts.map(({ file, firstKey, lastKey }, at) => {
    const shard: ManifestShard = {
      of: options.relative,
      index: at + 1,
      count: parts.length,
      contentType: options.contentType,
      ...(firstKey !== undefined ? { firstKey } : {}),
      ...(lastKey !== undefined ? { lastKey } : {}),
    };

    return { ...file, shard };
  });
}

// A resumed attempt may find the parts of an attempt that stopped midway; they would be
// files the manifest does not list.
async function removeEarlierParts(stagingDir: string, relative: string): Promise<void> {
  const folder = path.join(stagingDir, path.posix.dirname(relative));
  const names = await readdir(folder).catch(() => [] as string[]);
  const { stem, extension } = splitName(path.posix.basename(relative));
  const ours = new RegExp(`^${escapeRegExp(stem)}-\\d{4,}${escapeRegExp(extension)}$`);
  for (const name of names) {
    if (name === path.posix.basename(relative) || ours.test(name)) {
      await rm(path.join(folder, name), { force: true });
    }
  }
}

// `inputs/findings.jsonl.zst` → stem `inputs/findings`, extension `.jsonl.zst`.
function splitName(relative: string): { stem: string; extension: string } {
  const base = path.posix.basename(relative);
  const dot = base.indexOf('.');
  const cut = dot > 0 ? relative.length - (base.length - dot) : relative.length;

  return { stem: relative.slice(0, cut), extension: relative.slice(cut) };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function assertLimits(limits: PartLimits): void {
  if (!(limits.bytes >= 1) || !(limits.records >= 1)) {
    throw new RangeError(`part limits must be positive: ${JSON.stringify(limits)}`);
  }
}

// One pass over the source lines with a look-ahead of one, so a part can stop before the
// line that would overflow it and the next part starts with that line.
class LineCursor {
  private pending: IteratorResult<string> | undefined;

  constructor(private readonly source: AsyncIterator<string>) {}

  async peek(): Promise<string | undefined> {
    this.pending ??= await this.source.next();

    return this.pending.done ? undefined : this.pending.value;
  }

  take(): void {
    this.pending = undefined;
  }

  async done(): Promise<boolean> {
    return (await this.peek()) === undefined;
  }
}
