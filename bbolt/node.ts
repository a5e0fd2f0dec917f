// Serialisation of branch and leaf nodes (spec sections 6-8). A node bigger than a page spills
// into consecutive raw pages; the caller allocates ceil(size / pageSize) page numbers for it.
import {
  BUCKET_HEADER_SIZE,
  ELEMENT_SIZE,
  LEAF_ELEMENT_BUCKET,
  PAGE_FLAG,
  PAGE_HEADER_SIZE,
  writeU64,
} from './layout.js';

export interface LeafEntry {
  key: Buffer;
  value: Buffer;
  isBucket: boolean;
}

export interface BranchEntry {
  key: Buffer;
  pgid: number;
}

export function leafEntrySize(entry: LeafEntry): number {
  return ELEMENT_SIZE + entry.key.length + entry.value.length;
}

export function branchEntrySize(entry: BranchEntry): number {
  return ELEMENT_SIZE + entry.key.length;
}

export function pagesFor(nodeSize: number, pageSize: number): number {
  return Math.max(1, Math.ceil(nodeSize / pageSize));
}

export function encodeLeafNode(entries: LeafEntry[], pgid: number, pageSize: number): Buffer {
  const size = entries.reduce((sum, e) => sum + leafEntrySize(e), PAGE_HEADER_SIZE);
  const pages = pagesFor(size, pageSize);
  const buf = Buffer.alloc(pages * pageSize);
  writeLeafImage(buf, 0, entries, pgid, pages - 1);

  return buf;
}

// An inline bucket value: a bucket header with root 0, then a leaf page image (spec 8.3).
export function encodeInlineBucket(entries: LeafEntry[]): Buffer {
  const size = entries.reduce((sum, e) => sum + leafEntrySize(e), PAGE_HEADER_SIZE);
  const buf = Buffer.alloc(BUCKET_HEADER_SIZE + size);
  writeLeafImage(buf, BUCKET_HEADER_SIZE, entries, 0, 0);

  return buf;
}

export function encodeBucketHeader(rootPgid: number): Buffer {
  const buf = Buffer.alloc(BUCKET_HEADER_SIZE);
  writeU64(buf, 0, rootPgid);

  return buf;
}

export function encodeBranchNode(entries: BranchEntry[], pgid: number, pageSize: number): Buffer {
  const size = entries.reduce((sum, e) => sum + branchEntrySize(e), PAGE_HEADER_SIZE);
  const pages = pagesFor(size, pageSize);
  const buf = Buffer.alloc(pages * pageSize);
  writePageHeader(buf, 0, pgid, PAGE_FLAG.branch, entries.length, pages - 1);
  let data = PAGE_HEADER_SIZE + ELEMENT_SIZE * entries.length;
  entries.forEach((entry, i) => {
    const elem = PAGE_HEADER_SIZE + ELEMENT_SIZE * i;
    buf.writeUInt32LE(data - elem, elem);
    buf.writeUInt32LE(entry.key.length, elem + 4);
    writeU64(buf, elem + 8, entry.pgid);
    data += entry.key.copy(buf, data);
  });

  return buf;
}

export function writePageHeader(
  buf: Buffer,
  at: number,
  pgid: number,
  flags: number,
  count: number,
  overflow: number,
): void {
  writeU64(buf, at, pgid);
  buf.writeUInt16LE(flags, at + 8);
  buf.writeUInt16LE(count, at + 10);
  buf.writeUInt32LE(overflow, at + 12);
}

function writeLeafImage(
  buf: Buffer,
  at: number,
  entries: LeafEntry[],
  pgid: number,
  overflow: number,
): void {
  writePageHeader(buf, at, pgid, PAGE_FLAG.leaf, entries.length, overflow);
  let data = at + PAGE_HEADER_SIZE + ELEMENT_SIZE * entries.length;
  entries.forEach((entry, i) => {
    const elem = at + PAGE_HEADER_SIZE + ELEMENT_SIZE * i;
    buf.writeUInt32LE(entry.isBucket ? LEAF_ELEMENT_BUCKET : 0, elem);
    buf.writeUInt32LE(data - elem, elem + 4);
    buf.writeUInt32LE(entry.key.length, elem + 8);
    buf.writeUInt32LE(entry.value.length, elem + 12);
    data += entry.key.copy(buf, data);
    data += entry.value.copy(buf, data);
  });
}
