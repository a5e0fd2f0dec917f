import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ZSTDCompress } from 'simple-zstd';
import { DigestingStream, removeQuietly, temporaryNameFor, type FileDigest } from './files.js';

export interface JsonlWriteResult extends FileDigest {
  records: number;
}

export interface JsonlWriteOptions {
  // Called every `progressEvery` records and once at the end.
  onProgress?: (records: number) => void;
  progressEvery?: number;
  compressionLevel?: number;
}

const CHUNK_BYTES = 256 * 1024;

// Streams pre-serialized JSON lines into `<file>` as zstd-compressed JSONL: one record a
// line, '\n' after each. Lines are joined into large chunks before they reach the zstd
// process; memory stays at one chunk plus the pipe buffers whatever the record count.
export async function writeJsonlZst(
  filePath: string,
  lines: AsyncIterable<string>,
  options: JsonlWriteOptions = {},
): Promise<JsonlWriteResult> {
  await mkdir(path.dirname(filePath), { recursive: true });
  const temporary = temporaryNameFor(filePath);
  const digest = new DigestingStream();
  const counter = { records: 0 };
  const source = new FailureHoldingSource(chunked(lines, counter, options));
  await pipeline(
    Readable.from(source.chunks()),
    ZSTDCompress(options.compressionLevel ?? 3),
    digest,
    createWriteStream(temporary),
  );
  if (source.failed) {
    await removeQuietly(temporary);
    throw source.failure;
  }
  await rename(temporary, filePath);

  return { ...digest.digest(), records: counter.records };
}

// A failing line source must still end the zstd process's input: simple-zstd does not stop
// its child when the pipeline is destroyed, so an error thrown into the pipeline would leave
// one zstd process behind per failed write. The source ends normally instead, and the
// failure is rethrown once the pipeline has closed.
class FailureHoldingSource {
  failed = false;
  failure: unknown;

  constructor(private readonly source: AsyncIterable<Buffer>) {}

  async *chunks(): AsyncGenerator<Buffer> {
    try {
      yield* this.source;
    } catch (err) {
      this.failed = true;
      this.failure = err;
    }
  }
}

async function* chunked(
  lines: AsyncIterable<string>,
  counter: { records: number },
  options: JsonlWriteOptions,
): AsyncGenerator<Buffer> {
  const every = options.progressEvery ?? 10_000;
  let pending: string[] = [];
  let pendingLength = 0;
  for await (const line of lines) {
    pending.push(line, '\n');
    pendingLength += line.length + 1;
    counter.records += 1;
    if (counter.records % every === 0) {
      options.onProgress?.(counter.records);
    }
    if (pendingLength >= CHUNK_BYTES) {
      yield Buffer.from(pending.join(''), 'utf8');
      pending = [];
      pendingLength = 0;
    }
  }
  if (pending.length > 0) {
    yield Buffer.from(pending.join(''), 'utf8');
  }
  options.onProgress?.(counter.records);
}
