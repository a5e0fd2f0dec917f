// In-memory bucket trees: the input of `writeBboltTree` (small data, tests) and the output of
// `readBboltTree`. Keys are raw bytes; entries of one bucket are unique by key.
import { StellaError } from '../domain/errors.js';
import { type BboltWriteResult, type BboltWriterOptions, BboltWriter } from './writer.js';

export type BboltEntry =
  | { kind: 'value'; key: Buffer; value: Buffer }
  | { kind: 'bucket'; key: Buffer; entries: BboltEntry[] };

// Writes top-level buckets (plain values are not allowed at the root) after sorting every
// bucket's entries byte-wise.
export async function writeBboltTree(
  path: string,
  buckets: BboltEntry[],
  options: BboltWriterOptions = {},
): Promise<BboltWriteResult> {
  const writer = await BboltWriter.create(path, options);
  try {
    writeEntries(writer, buckets);
  } catch (err) {
    writer.abort();
    throw err;
  }

  return writer.close();
}

export function sortBboltEntries(entries: BboltEntry[]): BboltEntry[] {
  const sorted = [...entries].sort((a, b) => Buffer.compare(a.key, b.key));
  const duplicate = sorted.find((e, i) => i > 0 && e.key.equals(sorted[i - 1].key));
  if (duplicate) {
    throw new StellaError('bad_request', `duplicate bbolt key ${duplicate.key.toString('hex')}`);
  }

  return sorted.map((e) =>
    e.kind === 'bucket' ? { ...e, entries: sortBboltEntries(e.entries) } : e,
  );
}

function writeEntries(writer: BboltWriter, entries: BboltEntry[]): void {
  for (const entry of sortBboltEntries(entries)) {
    if (entry.kind === 'value') {
      writer.put(entry.key, entry.value);
      continue;
    }

    writer.openBucket(entry.key);
    writeEntries(writer, entry.entries);
    writer.closeBucket();
  }
}
