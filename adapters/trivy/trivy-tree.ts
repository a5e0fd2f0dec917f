// Streams the sorted, planned entries into a bbolt file: entries sharing a path are merged
// into one value, buckets are opened and closed as the path changes, and the buckets Trivy
// requires (docs/formats/trivy-db.md 3, 8.4) are created even when empty.
import { BboltWriter } from '../../bbolt/writer.js';
import type { TrivyDataSource } from './ecosystems.js';
import type { SortedRecord } from './external-sort.js';
import { compareUtf8 } from './external-sort.js';
import {
  DATA_SOURCE_BUCKET,
  type TrivyAdvisoryValue,
  VULNERABILITY_BUCKET,
} from './plan-advisory.js';
import {
  type VulnerabilityContribution,
  mergeVulnerabilityDetail,
} from './vulnerability-detail.js';

export type RecordPayload =
  | { a: TrivyAdvisoryValue; id: string }
  | { v: VulnerabilityContribution }
  | { d: TrivyDataSource };

export type TreeCounts = Record<string, number>;

const REQUIRED_BUCKETS = [DATA_SOURCE_BUCKET, VULNERABILITY_BUCKET].sort(compareUtf8);

export async function writeTrivyTree(
  path: string,
  records: AsyncIterable<SortedRecord<RecordPayload>>,
): Promise<TreeCounts> {
  const writer = await BboltWriter.create(path);
  const feed = new TreeFeed(writer);
  try {
    for await (const group of groupByKey(records)) {
      feed.put(group.key.split('\u0000'), mergeGroup(group.payloads));
    }
    feed.finish();
  } catch (err) {
    writer.abort();
    throw err;
  }
  await writer.close();

  return feed.counts;
}

async function* groupByKey(
  records: AsyncIterable<SortedRecord<RecordPayload>>,
): AsyncGenerator<{ key: string; payloads: RecordPayload[] }> {
  let current: { key: string; payloads: RecordPayload[] } | undefined;
  for await (const record of records) {
    if (current && current.key === record.key) {
      current.payloads.push(record.payload);
      continue;
    }
    if (current) yield current;
    current = { key: record.key, payloads: [record.payload] };
  }
  if (current) yield current;
}

// Several payloads under one path: advisories of one source that name the same package and
// vulnerability (their ranges are OR-ed), or several sources describing one vulnerability.
function mergeGroup(payloads: RecordPayload[]): string {
  const first = payloads[0];
  if ('d' in first) return JSON.stringify(first.d);

  if ('v' in first) {
    const parts = payloads as { v: VulnerabilityContribution }[];
    return JSON.stringify(mergeVulnerabilityDetail(parts.map((p) => p.v)));
  }

  const advisories = payloads as { a: TrivyAdvisoryValue; id: string }[];
  advisories.sort((x, y) => compareUtf8(x.id, y.id));

  return JSON.stringify(mergeAdvisories(advisories.map((p) => p.a)));
}

function mergeAdvisories(values: TrivyAdvisoryValue[]): TrivyAdvisoryValue {
  if (values.length === 1) return values[0];

  const union = (pick: (v: TrivyAdvisoryValue) => string[] | undefined) => [
    ...new Set(values.flatMap((v) => pick(v) ?? [])),
  ];
  const vendorIds = union((v) => v.VendorIDs).sort(compareUtf8);
  const patched = union((v) => v.PatchedVersions);

  return {
    VendorIDs: vendorIds.length > 0 ? vendorIds : undefined,
    VulnerableVersions: union((v) => v.VulnerableVersions),
    PatchedVersions: patched.length > 0 ? patched : undefined,
  };
}

class TreeFeed {
  readonly counts: TreeCounts = {};
  private readonly open: string[] = [];
  private readonly pendingRequired = [...REQUIRED_BUCKETS];

  constructor(private readonly writer: BboltWriter) {}

  put(path: string[], value: string): void {
    const buckets = path.slice(0, -1);
    let common = 0;
    while (common < this.open.length && this.open[common] === buckets[common]) common++;
    while (this.open.length > common) this.close();
    for (const name of buckets.slice(common)) this.openBucket(name);
    this.writer.put(path[path.length - 1], value);
    this.counts[buckets[0]] = (this.counts[buckets[0]] ?? 0) + 1;
  }

  finish(): void {
    while (this.open.length > 0) this.close();
    this.emptyRequiredBefore(null);
  }

  private openBucket(name: string): void {
    if (this.open.length === 0) this.emptyRequiredBefore(name);
    this.writer.openBucket(name);
    this.open.push(name);
  }

  private close(): void {
    this.writer.closeBucket();
    this.open.pop();
  }

  // Required top-level buckets that sort before `next` (all of them for null) and were not
  // written with content are created empty, in order.
  private emptyRequiredBefore(next: string | null): void {
    while (this.pendingRequired.length > 0) {
      const required = this.pendingRequired[0];
      const order = next === null ? -1 : compareUtf8(required, next);
      if (order > 0) return;

      this.pendingRequired.shift();
      if (order === 0) return;

      this.writer.openBucket(required);
      this.writer.closeBucket();
      this.counts[required] = 0;
    }
  }
}
