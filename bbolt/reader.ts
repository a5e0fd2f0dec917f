// A small, independent bbolt reader: validates the metas and walks the B+trees with
// positional reads, checking what bbolt's `Tx.Check` checks (page ids and types, key order,
// branch keys, every page below the high-water mark used exactly once or free). It is used
// by tests and by post-build sanity checks; it shares no code with the writer on purpose.
import { closeSync, openSync, readSync } from 'node:fs';

import { StellaError } from '../domain/errors.js';
import type { BboltEntry } from './tree.js';

const HEADER = 16;
const ELEMENT = 16;
const FLAG_BRANCH = 0x01;
const FLAG_LEAF = 0x02;
const FLAG_META = 0x04;
const FLAG_FREELIST = 0x10;
const BUCKET_ELEMENT = 1;
const NO_FREELIST = 0xffffffffffffffffn;

export interface BboltMeta {
  pageSize: number;
  rootPgid: number;
  freelistPgid: number | null;
  highWaterMark: number;
  txid: number;
}

export interface BboltVisitor {
  enterBucket?(path: Buffer[]): void;
  value?(path: Buffer[], key: Buffer, value: Buffer): void;
  leaveBucket?(path: Buffer[]): void;
}

export function readBboltTree(path: string): { meta: BboltMeta; buckets: BboltEntry[] } {
  const stack: BboltEntry[][] = [[]];
  const meta = walkBbolt(path, {
    enterBucket: () => stack.push([]),
    value: (_p, key, value) => stack[stack.length - 1].push({ kind: 'value', key, value }),
    leaveBucket: (p) => {
      const entries = stack.pop() as BboltEntry[];
      stack[stack.length - 1].push({ kind: 'bucket', key: p[p.length - 1], entries });
    },
  });

  return { meta, buckets: stack[0] };
}

// Visits every bucket and value in key order (buckets before their contents).
export function walkBbolt(path: string, visitor: BboltVisitor): BboltMeta {
  const fd = openSync(path, 'r');
  try {
    const file = new PagedFile(fd);
    const meta = file.meta;
    new TreeWalker(file, visitor).walkRoot(meta.rootPgid);
    file.assertAllPagesAccounted();

    return meta;
  } finally {
    closeSync(fd);
  }
}

class PagedFile {
  readonly meta: BboltMeta;
  private readonly used: Uint8Array;

  constructor(private readonly fd: number) {
    this.meta = this.chooseMeta();
    this.used = new Uint8Array(this.meta.highWaterMark);
    this.claim(0, 0);
    this.claim(1, 0);
    this.claimFreelist();
  }

  // Reads a node (all its overflow pages) and marks its pages used.
  readNode(pgid: number): Buffer {
    const { pageSize, highWaterMark } = this.meta;
    if (pgid < 2 || pgid >= highWaterMark) corrupt(`page ${pgid} outside the tree area`);

    const first = this.read(pgid * pageSize, pageSize);
    const overflow = first.readUInt32LE(12);
    this.assertHeader(first, pgid);
    this.claim(pgid, overflow);
    if (overflow === 0) return first;

    return Buffer.concat([first, this.read((pgid + 1) * pageSize, overflow * pageSize)]);
  }

  assertAllPagesAccounted(): void {
    const missing = this.used.findIndex((u) => u === 0);
    if (missing >= 0) corrupt(`page ${missing} is neither reachable nor free`);
  }

  private chooseMeta(): BboltMeta {
    const first = this.read(0, 4096, true);
    const candidates = [parseMeta(first.subarray(0, 128))];
    const pageSize = candidates[0]?.pageSize ?? 4096;
    candidates.push(parseMeta(this.read(pageSize, 128, true)));
    const valid = candidates.filter((m): m is BboltMeta => m !== null);
    if (valid.length === 0) corrupt('neither meta page is valid');

    return valid.sort((a, b) => b.txid - a.txid)[0];
  }

  private claimFreelist(): void {
    const { freelistPgid, pageSize } = this.meta;
    if (freelistPgid === null) return;

    const page = this.read(freelistPgid * pageSize, pageSize);
    if (page.readUInt16LE(8) !== FLAG_FREELIST) corrupt(`page ${freelistPgid} is not a freelist`);
    this.claim(freelistPgid, page.readUInt32LE(12));
    for (const free of freeIds(page)) this.claim(free, 0);
  }

  private claim(pgid: number, overflow: number): void {
    for (let p = pgid; p <= pgid + overflow; p++) {
      if (p >= this.used.length) corrupt(`page ${p} is beyond the high-water mark`);
      if (this.used[p] !== 0) corrupt(`page ${p} is used twice`);
      this.used[p] = 1;
    }
  }

  private assertHeader(page: Buffer, pgid: number): void {
    const id = page.readBigUInt64LE(0);
    if (id !== BigInt(pgid)) corrupt(`page ${pgid} identifies itself as ${id}`);
    const flags = page.readUInt16LE(8);
    if (flags !== FLAG_BRANCH && flags !== FLAG_LEAF) corrupt(`page ${pgid} has flags ${flags}`);
  }

  private read(position: number, length: number, allowShort = false): Buffer {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buf, done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    if (done < length && !allowShort) corrupt(`file ends inside the page at byte ${position}`);

    return buf;
  }
}

function parseMeta(page: Buffer): BboltMeta | null {
  if (page.length < HEADER + 64 || page.readUInt16LE(8) !== FLAG_META) return null;
  if (page.readUInt32LE(16) !== 0xed0cdaed || page.readUInt32LE(20) !== 2) return null;
  if (page.readBigUInt64LE(72) !== fnv64(page.subarray(16, 72))) return null;

  const freelist = page.readBigUInt64LE(48);

  return {
    pageSize: page.readUInt32LE(24),
    rootPgid: Number(page.readBigUInt64LE(32)),
    freelistPgid: freelist === NO_FREELIST ? null : Number(freelist),
    highWaterMark: Number(page.readBigUInt64LE(56)),
    txid: Number(page.readBigUInt64LE(64)),
  };
}

function fnv64(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);

  return h;
}

function freeIds(page: Buffer): number[] {
  let count = page.readUInt16LE(10);
  let at = HEADER;
  if (count === 0xffff) {
    count = Number(page.readBigUInt64LE(HEADER));
    at += 8;
  }

  return Array.from({ length: count }, (_, i) => Number(page.readBigUInt64LE(at + 8 * i)));
}

interface LeafItem {
  flags: number;
  key: Buffer;
  value: Buffer;
}

class TreeWalker {
  constructor(
    private readonly file: PagedFile,
    private readonly visitor: BboltVisitor,
  ) {}

  walkRoot(rootPgid: number): void {
    const path: Buffer[] = [];
    for (const item of this.bucketItems(this.file.readNode(rootPgid), path)) {
      if (item.flags !== BUCKET_ELEMENT) corrupt('the root bucket holds a plain value');
      this.walkBucket([...path, item.key], item.value);
    }
  }

  private walkBucket(path: Buffer[], header: Buffer): void {
    if (header.length < HEADER) corrupt(`bucket ${showPath(path)} has a short header`);

    this.visitor.enterBucket?.(path);
    const root = Number(header.readBigUInt64LE(0));
    const node = root === 0 ? this.inlinePage(path, header) : this.file.readNode(root);
    for (const item of this.bucketItems(node, path)) {
      if (item.flags === BUCKET_ELEMENT) this.walkBucket([...path, item.key], item.value);
      else this.visitor.value?.(path, item.key, item.value);
    }
    this.visitor.leaveBucket?.(path);
  }

  private inlinePage(path: Buffer[], header: Buffer): Buffer {
    const page = Buffer.from(header.subarray(HEADER));
    if (page.readUInt16LE(8) !== FLAG_LEAF) corrupt(`inline bucket ${showPath(path)} not a leaf`);
    const nested = leafItems(page).some((item) => item.flags === BUCKET_ELEMENT);
    if (nested) corrupt(`inline bucket ${showPath(path)} holds a bucket`);

    return page;
  }

  // All leaf items of one bucket in order, checking ordering across nodes.
  private *bucketItems(node: Buffer, path: Buffer[]): Generator<LeafItem> {
    let previous: Buffer | null = null;
    for (const item of this.leafItemsUnder(node, null)) {
      if (previous && Buffer.compare(previous, item.key) >= 0) {
        corrupt(`keys out of order in bucket ${showPath(path)}`);
      }
      previous = item.key;
      yield item;
    }
  }

  private *leafItemsUnder(node: Buffer, expectedFirst: Buffer | null): Generator<LeafItem> {
    if (node.readUInt16LE(8) === FLAG_LEAF) {
      const items = leafItems(node);
      if (expectedFirst && items.length > 0 && !items[0].key.equals(expectedFirst)) {
        corrupt('a branch key differs from the first key of its child');
      }
      yield* items;
      return;
    }

    const children = branchItems(node);
    if (children.length === 0) corrupt('empty branch node');
    if (expectedFirst && !children[0].key.equals(expectedFirst)) {
      corrupt('a branch key differs from the first key of its child');
    }
    for (const child of children) {
      yield* this.leafItemsUnder(this.file.readNode(child.pgid), child.key);
    }
  }
}

function leafItems(node: Buffer): LeafItem[] {
  const count = node.readUInt16LE(10);

  return Array.from({ length: count }, (_, i) => {
    const elem = HEADER + ELEMENT * i;
    const keyAt = elem + node.readUInt32LE(elem + 4);
    const keyEnd = keyAt + node.readUInt32LE(elem + 8);
    const valueEnd = keyEnd + node.readUInt32LE(elem + 12);
    if (valueEnd > node.length) corrupt('a leaf element points past its node');

    const flags = node.readUInt32LE(elem);
    return { flags, key: node.subarray(keyAt, keyEnd), value: node.subarray(keyEnd, valueEnd) };
  });
}

function branchItems(node: Buffer): { key: Buffer; pgid: number }[] {
  const count = node.readUInt16LE(10);

  return Array.from({ length: count }, (_, i) => {
    const elem = HEADER + ELEMENT * i;
    const keyAt = elem + node.readUInt32LE(elem);
    const keyEnd = keyAt + node.readUInt32LE(elem + 4);
    if (keyEnd > node.length) corrupt('a branch element points past its node');

    return { key: node.subarray(keyAt, keyEnd), pgid: Number(node.readBigUInt64LE(elem + 8)) };
  });
}

function showPath(path: Buffer[]): string {
  return path.map((p) => JSON.stringify(p.toString('utf8'))).join(' / ');
}

function corrupt(message: string): never {
  throw new StellaError('integrity_failed', `bbolt file invalid: ${message}`);
}
