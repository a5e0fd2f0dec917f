// Hands out consecutive page numbers and streams the pages to the file in that order, so the
// writer never holds more than one chunk of finished pages.
import { writeSync } from 'node:fs';

import { FIRST_DATA_PGID } from './layout.js';

const CHUNK_BYTES = 1 << 20;

export class PageSink {
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  private chunkPgid = FIRST_DATA_PGID;
  private next = FIRST_DATA_PGID;

  constructor(
    private readonly fd: number,
    readonly pageSize: number,
  ) {}

  get nextPgid(): number {
    return this.next;
  }

  // `node` is a whole number of pages whose header already names `nextPgid`.
  append(node: Buffer): number {
    const pgid = this.next;
    this.next += node.length / this.pageSize;
    this.chunks.push(node);
    this.chunkBytes += node.length;
    if (this.chunkBytes >= CHUNK_BYTES) this.flush();

    return pgid;
  }

  flush(): void {
    const data = Buffer.concat(this.chunks, this.chunkBytes);
    writeAll(this.fd, data, this.chunkPgid * this.pageSize);
    this.chunks = [];
    this.chunkBytes = 0;
    this.chunkPgid = this.next;
  }
}

export function writeAll(fd: number, data: Buffer, position: number): void {
  let done = 0;
  while (done < data.length) {
    done += writeSync(fd, data, done, data.length - done, position + done);
  }
}
