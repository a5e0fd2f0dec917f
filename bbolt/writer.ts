// Forward-only bbolt writer (format notes: docs/formats/bbolt.md). The caller opens buckets and
// puts keys in strictly ascending byte order; full nodes go to disk at once and only the open
// path of the tree (one leaf and one branch per level for every open bucket) stays in memory.
//
//   const w = await BboltWriter.create('/tmp/x.db');
//   w.openBucket('a'); w.put('k', 'v'); w.closeBucket();
//   await w.close();   // branches of the root, freelist, both metas; fsync; rename into place
//
// Layout: metas on pages 0-1, an empty freelist on page 2, nodes from page 3 upward in
// post-order with no gaps, so the file is exactly HWM pages long and `Tx.Check` finds every
// page reachable.
import { closeSync, fsyncSync, openSync, unlinkSync } from 'node:fs';
import { rename } from 'node:fs/promises';

import { StellaError } from '../domain/errors.js';
import {
  DEFAULT_PAGE_SIZE,
  FORMAT_VERSION,
  FREELIST_PGID,
  MAGIC,
  MAX_KEY_SIZE,
  MAX_NODE_COUNT,
  MAX_VALUE_SIZE,
  PAGE_FLAG,
  PAGE_HEADER_SIZE,
  fnv1a64,
  writeU64,
} from './layout.js';
import {
  type BranchEntry,
  type LeafEntry,
  branchEntrySize,
  encodeBranchNode,
  encodeBucketHeader,
  encodeInlineBucket,
  encodeLeafNode,
  leafEntrySize,
  writePageHeader,
} from './node.js';
import { PageSink, writeAll } from './page-sink.js';

export type BboltBytes = Uint8Array | string;

export interface BboltWriterOptions {
  pageSize?: number;
}

export interface BboltWriteResult {
  path: string;
  pageSize: number;
  pageCount: number;
  size: number;
}

export class BboltWriter {
  private readonly stack: BucketBuilder[];
  private closed = false;

  private constructor(
    private readonly path: string,
    private readonly tempPath: string,
    private readonly fd: number,
    private readonly sink: PageSink,
  ) {
    this.stack = [new BucketBuilder(Buffer.alloc(0), sink)];
  }

  static async create(path: string, options: BboltWriterOptions = {}): Promise<BboltWriter> {
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1024 || pageSize % 16 !== 0) {
      throw new StellaError('bad_request', `bbolt page size ${pageSize} is not usable`);
    }

    const tempPath = `${path}.tmp-${process.pid}-${Date.now()}`;
    const fd = openSync(tempPath, 'w');

    return new BboltWriter(path, tempPath, fd, new PageSink(fd, pageSize));
  }

  // Number of buckets open below the root.
  get depth(): number {
    return this.stack.length - 1;
  }

  openBucket(name: BboltBytes): void {
    const key = toKey(name);
    this.current().claimKey(key);
    this.stack.push(new BucketBuilder(key, this.sink));
  }

  closeBucket(): void {
    if (this.stack.length === 1) throw misuse('closeBucket called with no open bucket');

    const child = this.stack.pop() as BucketBuilder;
    this.current().add({ key: child.name, value: child.finishAsChild(), isBucket: true });
  }

  put(key: BboltBytes, value: BboltBytes): void {
    if (this.stack.length === 1) throw misuse('the root bucket holds only buckets');

    const keyBytes = toKey(key);
    const valueBytes = toBytes(value);
    if (valueBytes.length > MAX_VALUE_SIZE) throw misuse('bbolt value too large');

    this.current().claimKey(keyBytes);
    this.current().add({ key: keyBytes, value: valueBytes, isBucket: false });
  }

  async close(): Promise<BboltWriteResult> {
    this.assertOpen();
    while (this.stack.length > 1) this.closeBucket();
    const rootPgid = this.stack[0].finishAsRoot();
    const hwm = this.sink.nextPgid;
    this.sink.flush();
    writeAll(this.fd, this.fixedPages(rootPgid, hwm), 0);
    this.closeFile();
    await rename(this.tempPath, this.path);
    const pageSize = this.sink.pageSize;

    return { path: this.path, pageSize, pageCount: hwm, size: hwm * pageSize };
  }

  // Drops the half-written temporary file; the target path is left untouched.
  abort(): void {
    if (this.closed) return;

    this.closed = true;
    closeSync(this.fd);
    unlinkSync(this.tempPath);
  }

  private current(): BucketBuilder {
    this.assertOpen();

    return this.stack[this.stack.length - 1];
  }

  private assertOpen(): void {
    if (this.closed) throw misuse('the bbolt writer is closed');
  }

  private closeFile(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.closed = true;
  }

  private fixedPages(rootPgid: number, hwm: number): Buffer {
    const pageSize = this.sink.pageSize;
    const pages = Buffer.alloc(3 * pageSize);
    encodeMeta(pages.subarray(0, pageSize), 0, rootPgid, hwm);
    encodeMeta(pages.subarray(pageSize, 2 * pageSize), 1, rootPgid, hwm);
    writePageHeader(pages, 2 * pageSize, FREELIST_PGID, PAGE_FLAG.freelist, 0, 0);

    return pages;
  }
}

interface BranchLevel {
  entries: BranchEntry[];
  size: number;
  nodesWritten: number;
}

// One bucket's B+tree under construction: the leaf being filled and, per branch level, the
// branch node being filled. Nodes are packed greedily up to one page (fill 100 %).
class BucketBuilder {
  private leaf: LeafEntry[] = [];
  private leafSize = PAGE_HEADER_SIZE;
  private leavesWritten = 0;
  private hasNestedBucket = false;
  private lastKey: Buffer | null = null;
  private readonly levels: BranchLevel[] = [];

  constructor(
    readonly name: Buffer,
    private readonly sink: PageSink,
  ) {}

  claimKey(key: Buffer): void {
    if (this.lastKey !== null && Buffer.compare(key, this.lastKey) <= 0) {
      throw misuse(`bbolt key ${hex(key)} is not above the previous key ${hex(this.lastKey)}`);
    }

    this.lastKey = key;
  }

  add(entry: LeafEntry): void {
    const size = leafEntrySize(entry);
    const full = this.leafSize + size > this.sink.pageSize || this.leaf.length >= MAX_NODE_COUNT;
    if (this.leaf.length > 0 && full) this.flushLeaf();
    this.leaf.push(entry);
    this.leafSize += size;
    if (entry.isBucket) this.hasNestedBucket = true;
  }

  // The bucket value to store in the parent: inline when bbolt itself would inline it.
  finishAsChild(): Buffer {
    const inlineable = !this.hasNestedBucket && this.leafSize <= this.sink.pageSize / 4;
    if (this.leavesWritten === 0 && inlineable) return encodeInlineBucket(this.leaf);

    return encodeBucketHeader(this.finishAsRoot());
  }

  // Writes what is still in memory and returns the page of the tree's top node.
  finishAsRoot(): number {
    if (this.leaf.length > 0 || this.leavesWritten === 0) this.flushLeaf();
    for (let level = 0; ; level++) {
      const branch = this.levels[level];
      if (branch.nodesWritten === 0 && branch.entries.length === 1) return branch.entries[0].pgid;

      this.flushBranch(level);
    }
  }

  private flushLeaf(): void {
    const pgid = this.sink.append(
      encodeLeafNode(this.leaf, this.sink.nextPgid, this.sink.pageSize),
    );
    const firstKey = this.leaf.length > 0 ? this.leaf[0].key : Buffer.alloc(0);
    this.leaf = [];
    this.leafSize = PAGE_HEADER_SIZE;
    this.leavesWritten += 1;
    this.pushBranch(0, { key: firstKey, pgid });
  }

  private pushBranch(level: number, entry: BranchEntry): void {
    const branch = (this.levels[level] ??= {
      entries: [],
      size: PAGE_HEADER_SIZE,
      nodesWritten: 0,
    });
    const size = branchEntrySize(entry);
    const full = branch.size + size > this.sink.pageSize || branch.entries.length >= MAX_NODE_COUNT;
    if (branch.entries.length > 0 && full) this.flushBranch(level);
    branch.entries.push(entry);
    branch.size += size;
  }

  private flushBranch(level: number): void {
    const branch = this.levels[level];
    const node = encodeBranchNode(branch.entries, this.sink.nextPgid, this.sink.pageSize);
    const pgid = this.sink.append(node);
    const firstKey = branch.entries[0].key;
    branch.entries = [];
    branch.size = PAGE_HEADER_SIZE;
    branch.nodesWritten += 1;
    this.pushBranch(level + 1, { key: firstKey, pgid });
  }
}

function encodeMeta(page: Buffer, txid: number, rootPgid: number, hwm: number): void {
  writePageHeader(page, 0, txid, PAGE_FLAG.meta, 0, 0);
  page.writeUInt32LE(MAGIC, 16);
  page.writeUInt32LE(FORMAT_VERSION, 20);
  page.writeUInt32LE(page.length, 24);
  page.writeUInt32LE(0, 28);
  writeU64(page, 32, rootPgid);
  writeU64(page, 40, 0);
  writeU64(page, 48, FREELIST_PGID);
  writeU64(page, 56, hwm);
  writeU64(page, 64, txid);
  writeU64(page, 72, fnv1a64(page.subarray(16, 72)));
}

function toBytes(value: BboltBytes): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
}

function toKey(key: BboltBytes): Buffer {
  const bytes = toBytes(key);
  if (bytes.length === 0) throw misuse('bbolt keys must not be empty');
  if (bytes.length > MAX_KEY_SIZE) throw misuse(`bbolt key longer than ${MAX_KEY_SIZE} bytes`);

  return bytes;
}

function hex(key: Buffer): string {
  return key.length > 40 ? `${key.subarray(0, 40).toString('hex')}…` : key.toString('hex');
}

// Writer misuse is a bug in the calling code, not bad input from a user.
function misuse(message: string): StellaError {
  return new StellaError('internal', message);
}
