import { stringify } from 'yaml';
import { SCHEMA_VERSIONS } from '../../domain/records.js';
import { withheldEntry } from '../../redaction/raw-document-screen.js';
import type { InputKind } from '../../store/export-plan.js';
import type { FileLineage } from '../export-adapter.js';
import type { MirrorFiles } from './mirror-files.js';
import {
  DEFAULT_PART_RECORDS,
  GRAPH_SCHEMA,
  INDEX_SCHEMA,
  MARKDOWN,
  MIRROR_MANIFEST_PATH,
  MIRROR_README_PATH,
  MIRROR_SCHEMA,
  MIRROR_SHARDING,
  YAML,
  normalizedPartPath,
  rawDocumentPath,
  sbomGraphPath,
  type MirrorKind,
  type MirrorManifest,
  type MirrorPartInfo,
} from './mirror-layout.js';
import type { MirrorQueries, PlanDocument } from '../../store/mirror-queries.js';
import { mirrorReadme } from './mirror-readme.js';
import type { Slot, SlotRecord } from './mirror-slots.js';
import { sbomGraph } from './sbom-graph.js';

// The steps both mirror adapters share: normalized parts, raw documents, SBOM graphs and
// the manifest with its README.

export const INPUT_KIND: Record<MirrorKind, InputKind> = {
  advisories: 'advisory',
  vex: 'vex',
  sboms: 'sbom',
};

export function mirrorSchemaVersions(): Record<string, string> {
  return { ...SCHEMA_VERSIONS, mirror: MIRROR_SCHEMA, index: INDEX_SCHEMA, sbomGraph: GRAPH_SCHEMA };
}

// Profile options: `partRecords` caps the records in one normalized part.
export function partRecordsOf(profileConfig: Record<string, unknown>): number {
  const value = Number(profileConfig.partRecords);

  return Number.isSafeInteger(value) && value > 0 ? value : DEFAULT_PART_RECORDS;
}

// Writes slots as normalized parts of at most `limit` records (a slot is never split).
export async function writeSlotParts(
  files: MirrorFiles,
  kind: MirrorKind,
  slots: AsyncIterable<Slot>,
  limit: number,
  onSlot: (slot: Slot) => void,
  lineage: (documents: string[]) => FileLineage,
): Promise<MirrorPartInfo[]> {
  const iterator = slots[Symbol.asyncIterator]();
  const parts: MirrorPartInfo[] = [];
  let next = await iterator.next();
  while (!next.done) {
    const part: MirrorPartInfo = { path: normalizedPartPath(kind, parts.length), records: 0, slots: 0 };
    const documents = new Set<string>();
    async function* lines(): AsyncGenerator<string> {
      while (!next.done && part.records < limit) {
        const slot: Slot = next.value;
        onSlot(slot);
        part.slots += 1;
        for (const record of slot.records) {
          part.records += 1;
          documents.add(record.documentSha256);
          yield record.canonical;
        }
        next = await iterator.next();
      }
    }
    await files.jsonl(part.path, lines(), () => lineage([...documents].sort()));
    parts.push(part);
  }

  return parts;
}

// Raw documents go out byte for byte or not at all: one the raw-document screen flags is
// listed in files.output.withheld (and so in export.json and manifest.yaml) instead.
export async function writeRawDocuments(
  files: MirrorFiles,
  queries: MirrorQueries,
  documents: PlanDocument[],
): Promise<void> {
  const kindOf = new Map(documents.map((doc) => [doc.sha256, doc.kind]));
  const withheld = (files.output.withheld ??= []);
  for await (const doc of queries.rawDocuments([...kindOf.keys()])) {
    const kind = kindOf.get(doc.sha256)!;
    const { sha256, format, bytes } = doc;
    const entry = withheldEntry({ kind, sha256, format, bytes });
    if (entry) {
      withheld.push(entry);
      continue;
    }
    const relative = rawDocumentPath(kind, doc.sha256, doc.mediaType);
    await files.bytes(relative, doc.bytes, doc.mediaType, { documents: [doc.sha256] });
  }
}

export async function writeSbomGraphs(
  files: MirrorFiles,
  queries: MirrorQueries,
  records: SlotRecord[],
): Promise<void> {
  const byDocument = new Map(records.map((record) => [record.documentSha256, record]));
  for await (const doc of queries.rawDocuments([...byDocument.keys()])) {
    const record = byDocument.get(doc.sha256)!;
    const format = String((JSON.parse(record.canonical) as { format?: string }).format ?? '');
    const graph = sbomGraph({ subject: record.key, format, documentSha256: doc.sha256 }, doc.bytes);
    await files.json(sbomGraphPath(doc.sha256), graph, { documents: [doc.sha256] });
  }
}

export async function writeMirrorManifest(
  files: MirrorFiles,
  manifest: Omit<MirrorManifest, 'schema' | 'readme' | 'withheld'>,
): Promise<MirrorManifest> {
  const withheld = files.output.withheld ?? [];
  const complete: MirrorManifest = {
    schema: MIRROR_SCHEMA,
    ...manifest,
    withheld,
    sharding: MIRROR_SHARDING,
    readme: MIRROR_README_PATH,
  };
  const lineage = { documents: [] };
  await files.text(MIRROR_README_PATH, mirrorReadme(complete), MARKDOWN, lineage);
  await files.text(MIRROR_MANIFEST_PATH, stringify(dropUndefined(complete), { sortMapEntries: true }), YAML, lineage);

  return complete;
}

function dropUndefined<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
