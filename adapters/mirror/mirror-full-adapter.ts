import type { AdapterOutput, ExportAdapter, WriteContext } from '../export-adapter.js';
import { withMirrorEncryption } from './mirror-encryption.js';
import { MirrorFiles } from './mirror-files.js';
import { AdvisoryIndex, SbomIndex, VexIndex } from './mirror-indexes.js';
import {
  INDEX_PATHS,
  MIRROR_KINDS,
  type MirrorKind,
  type MirrorKindSummary,
} from './mirror-layout.js';
import { mirrorQueriesFor, type MirrorQueries } from '../../store/mirror-queries.js';
import { checkedPlanRecords, mirrorRecordGuard } from './mirror-record-guard.js';
import { writeMirrorSections } from './mirror-sections.js';
import { slotsOf, StateDigest, type Slot, type SlotRecord } from './mirror-slots.js';
import {
  INPUT_KIND,
  mirrorSchemaVersions,
  partRecordsOf,
  writeMirrorManifest,
  writeRawDocuments,
  writeSbomGraphs,
  writeSlotParts,
} from './mirror-writer.js';

// mirror:full: everything an air-gapped site needs to stand up a read-only mirror. Records
// stream from the plan slot by slot; only the indexes are held in memory.
export const mirrorFullAdapter: ExportAdapter = {
  kind: 'mirror:full',
  name: 'stella.mirror-full',
  version: '1.0.0',
  write: withMirrorEncryption(writeMirrorFull),
};

interface KindResult {
  summary: MirrorKindSummary;
  digest: string;
}

async function writeMirrorFull(context: WriteContext): Promise<AdapterOutput> {
  const { queries, runId } = mirrorQueriesFor(context.source);
  const run = await queries.describeRun(runId);
  const files = new MirrorFiles(context, mirrorSchemaVersions());
  const sbomRecords: SlotRecord[] = [];
  const results = {} as Record<MirrorKind, KindResult>;
  for (const kind of MIRROR_KINDS) {
    const keep = kind === 'sboms' ? (slot: Slot) => sbomRecords.push(...slot.records) : () => 0;
    results[kind] = await writeKind(files, queries, { runId, kind, context, onSlot: keep });
  }

  const documents = await queries.planDocuments(runId);
  await writeRawDocuments(files, queries, documents);
  await writeSbomGraphs(files, queries, sbomRecords);
  const sections = await writeMirrorSections({
    files,
    queries,
    runId,
    bundleKind: 'full',
    profileConfig: context.profileConfig,
  });

  const content = mapKinds((kind) => results[kind].summary);
  await writeMirrorManifest(files, {
    kind: 'full',
    profile: { id: run.profileId, kind: run.profileKind },
    filters: run.filters,
    counts: countsOf(content, documents.length),
    content,
    raw_documents: { count: documents.length },
    state_digest: mapKinds((kind) => results[kind].digest),
    sections,
  });
  files.output.counts = countsOf(content, documents.length);

  return files.output;
}

async function writeKind(
  files: MirrorFiles,
  queries: MirrorQueries,
  options: { runId: string; kind: MirrorKind; context: WriteContext; onSlot: (slot: Slot) => unknown },
): Promise<KindResult> {
  const { runId, kind, context } = options;
  const index = indexFor(kind);
  const digest = new StateDigest();
  const lineage = { kinds: [INPUT_KIND[kind]] };
  const guard = mirrorRecordGuard(mirrorFullAdapter, kind);
  const slots = slotsOf(kind, checkedPlanRecords(guard, queries.planRecords(runId, kind)));
  const parts = await writeSlotParts(files, kind, slots, partRecordsOf(context.profileConfig), (slot) => {
    index.addSlot(slot);
    digest.add(slot.key, slot.digest);
    options.onSlot(slot);
  }, () => lineage);
  await files.json(INDEX_PATHS[kind], index.toJson(), lineage);

  const summary: MirrorKindSummary = {
    records: parts.reduce((sum, part) => sum + part.records, 0),
    slots: parts.reduce((sum, part) => sum + part.slots, 0),
    parts,
    index: INDEX_PATHS[kind],
  };

  return { summary, digest: digest.digest() };
}

function indexFor(kind: MirrorKind): { addSlot(slot: Slot): void; toJson(): unknown } {
  if (kind === 'advisories') return new AdvisoryIndex();
  if (kind === 'vex') return new VexIndex();

  return new SbomIndex();
}

export function countsOf(content: Record<MirrorKind, MirrorKindSummary>, documents: number) {
  return {
    advisories: content.advisories.records,
    vexStatements: content.vex.records,
    sboms: content.sboms.records,
    rawDocuments: documents,
  };
}

export function mapKinds<T>(map: (kind: MirrorKind) => T): Record<MirrorKind, T> {
  return Object.fromEntries(MIRROR_KINDS.map((kind) => [kind, map(kind)])) as Record<MirrorKind, T>;
}
