declare module 'simple-zstd' {
  import type { Duplex } from 'node:stream';

  export function ZSTDCompress(
    level?: number,
    spawnOptions?: object,
    streamOptions?: object,
    zstdOptions?: string[],
  ): Duplex;
  export function ZSTDDecompress(
    spawnOptions?: object,
    streamOptions?: object,
    zstdOptions?: string[],
  ): Duplex;
}
