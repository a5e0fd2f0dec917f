// Bounded-memory sort of (key, payload) records: records are buffered up to a byte budget,
// sorted and spilled as NDJSON runs into a work directory, then k-way merged. Keys compare by
// their UTF-8 bytes, the order bbolt stores them in.
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface SortedRecord<T> {
  key: string;
  payload: T;
}

const MAX_FAN_IN = 64;

export class ExternalSorter<T> {
  private buffer: { key: string; line: string }[] = [];
  private bufferedBytes = 0;
  private readonly runs: string[] = [];

  constructor(
    private readonly workDir: string,
    private readonly budgetBytes: number,
  ) {}

  async add(key: string, payload: T): Promise<void> {
    const line = JSON.stringify([key, payload]);
    this.buffer.push({ key, line });
    // Strings cost about two bytes per character plus object overhead.
    this.bufferedBytes += 2 * (line.length + key.length) + 64;
    if (this.bufferedBytes >= this.budgetBytes) await this.spill();
  }

  async *sorted(): AsyncGenerator<SortedRecord<T>> {
    if (this.runs.length === 0) {
      yield* this.takeBuffer().map((r) => parseLine<T>(r.line));
      return;
    }

    await this.spill();
    while (this.runs.length > MAX_FAN_IN) await this.mergeRuns(this.runs.splice(0, MAX_FAN_IN));
    yield* mergeFiles<T>(this.runs);
  }

  private async spill(): Promise<void> {
    if (this.buffer.length === 0) return;

    const path = this.nextRunPath();
    await writeLines(
      path,
      this.takeBuffer().map((r) => r.line),
    );
    this.runs.push(path);
  }

  private async mergeRuns(paths: string[]): Promise<void> {
    const path = this.nextRunPath();
    async function* lines() {
      for await (const r of mergeFiles<T>(paths)) yield JSON.stringify([r.key, r.payload]);
    }
    await writeLines(path, lines());
    this.runs.push(path);
  }

  private takeBuffer(): { key: string; line: string }[] {
    const sorted = this.buffer.sort((a, b) => compareUtf8(a.key, b.key));
    this.buffer = [];
    this.bufferedBytes = 0;

    return sorted;
  }

  private nextRunPath(): string {
    return join(
      this.workDir,
      `run-${String(this.runs.length).padStart(6, '0')}-${Date.now()}.ndjson`,
    );
  }
}

// Code-unit order equals UTF-8 byte order except that surrogate pairs (code points above
// U+FFFF) must sort after U+E000..U+FFFF.
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }

    return x - y;
  }

  return a.length - b.length;
}

async function* mergeFiles<T>(paths: string[]): AsyncGenerator<SortedRecord<T>> {
  const sources = paths.map((p) =>
    createInterface({ input: createReadStream(p), crlfDelay: Infinity }),
  );
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const heap = new RecordHeap<T>();
  for (const [i, it] of iterators.entries()) await refill(heap, it, i);
  try {
    while (heap.size > 0) {
      const top = heap.pop();
      yield top.record;
      await refill(heap, iterators[top.source], top.source);
    }
  } finally {
    sources.forEach((s) => s.close());
  }
}

async function refill<T>(
  heap: RecordHeap<T>,
  it: AsyncIterator<string>,
  source: number,
): Promise<void> {
  const next = await it.next();
  if (!next.done) heap.push({ record: parseLine<T>(next.value), source });
}

function parseLine<T>(line: string): SortedRecord<T> {
  const [key, payload] = JSON.parse(line) as [string, T];

  return { key, payload };
}

async function writeLines(
  path: string,
  lines: Iterable<string> | AsyncIterable<string>,
): Promise<void> {
  const out = createWriteStream(path);
  for await (const line of lines) {
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
}

interface HeapItem<T> {
  record: SortedRecord<T>;
  source: number;
}

class RecordHeap<T> {
  private readonly items: HeapItem<T>[] = [];

  get size(): number {
    return this.items.length;
  }

  push(item: HeapItem<T>): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.less(items[parent], items[i])) break;
      [items[parent], items[i]] = [items[i], items[parent]];
      i = parent;
    }
  }

  pop(): HeapItem<T> {
    const items = this.items;
    const top = items[0];
    const last = items.pop() as HeapItem<T>;
    if (items.length > 0) {
      items[0] = last;
      this.siftDown(0);
    }

    return top;
  }

  private siftDown(start: number): void {
    const items = this.items;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && this.less(items[left], items[smallest])) smallest = left;
      if (right < items.length && this.less(items[right], items[smallest])) smallest = right;
      if (smallest === i) return;
      [items[smallest], items[i]] = [items[i], items[smallest]];
      i = smallest;
    }
  }

  private less(a: HeapItem<T>, b: HeapItem<T>): boolean {
    const order = compareUtf8(a.record.key, b.record.key);

    return order !== 0 ? order < 0 : a.source < b.source;
  }
}
