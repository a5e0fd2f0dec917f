// On-disk constants of the bbolt file format, version 2 (see docs/formats/bbolt.md).
// Every integer is little-endian: the format is the host's order and Trivy runs on LE hosts.

export const DEFAULT_PAGE_SIZE = 4096;
export const PAGE_HEADER_SIZE = 16;
export const ELEMENT_SIZE = 16;
export const BUCKET_HEADER_SIZE = 16;
export const META_SIZE = 64;

export const PAGE_FLAG = { branch: 0x01, leaf: 0x02, meta: 0x04, freelist: 0x10 } as const;
export const LEAF_ELEMENT_BUCKET = 1;

export const MAGIC = 0xed0cdaed;
export const FORMAT_VERSION = 2;

// Limits enforced by bbolt's own writer (spec section 7); the reader would accept more.
export const MAX_KEY_SIZE = 32768;
export const MAX_VALUE_SIZE = 2 ** 31 - 2;
export const MAX_NODE_COUNT = 0xfffe;

export const FREELIST_PGID = 2;
export const FIRST_DATA_PGID = 3;

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const U64_MASK = (1n << 64n) - 1n;

// 64-bit FNV-1a, the meta page checksum (spec section 4).
export function fnv1a64(bytes: Uint8Array): bigint {
  let hash = FNV_OFFSET;
  for (const byte of bytes) {
    hash = ((hash ^ BigInt(byte)) * FNV_PRIME) & U64_MASK;
  }

  return hash;
}

export function writeU64(buf: Buffer, offset: number, value: number | bigint): void {
  buf.writeBigUInt64LE(BigInt(value), offset);
}

export function readU64(buf: Buffer, offset: number): number {
  const value = buf.readBigUInt64LE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) return Number.POSITIVE_INFINITY;

  return Number(value);
}
