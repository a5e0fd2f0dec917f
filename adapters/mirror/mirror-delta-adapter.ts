import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { canonicalJson } from '../../bundle/canonical-json.js';
import { StellaError } from '../../domain/errors.js';
import type { AdapterOutput, BaseBundle, ExportAdapter, WriteContext } from '../export-adapter.js';
import { withMirrorEncryption } from './mirror-encryption.js';
import { mapKinds } from './mirror-full-adapter.js';
import { MirrorFiles } from './mirror-files.js';
import {
  advisoryIndexPatch,
  sbomIndexPatch,
  vexIndexPatch,
  type SlotChange,
} from './mirror-indexes.js';
import {
  INDEX_PATHS,
  MIRROR_KINDS,
  MIRROR_MANIFEST_PATH,
  MIRROR_SCHEMA,
  splitVexSlotKey,
  tombstonePath,
  type MirrorKind,
  type MirrorKindSummary,
  type TombstoneKind,
} from './mirror-layout.js';
import { mirrorQueriesFor, type MirrorQueries, type PlannedRecord } from '../../store/mirror-queries.js';
import { mirrorRecordGuard } from './mirror-record-guard.js';
import { writeMirrorSections } from './mirror-sections.js';
import { compareText, makeSlot, type Slot, type SlotRecord } from './mirror-slots.js';
import {
  mirrorSchemaVersions,
  partRecordsOf,
  writeMirrorManifest,
  writeRawDocuments,
  writeSbomGraphs,
  writeSlotParts,
} from './mirror-writer.js';

// mirror:delta: what changed since a base mirror export. The two runs' plans are compared
// inside the database (store rows never change, so equal row ids mean equal hashes); only
// the slots that differ are read and written, so time and memory follow the change set.
export const mirrorDeltaAdapter: ExportAdapter = {
  kind: 'mirror:delta',
  name: 'stella.mirror-delta',
  version: '1.0.0',
  write: withMirrorEncryption(writeMirrorDelta),
};

async function writeMirrorDelta(context: WriteContext): Promise<AdapterOutput> {
  const base = await requireMirrorBase(context.base);
  const { queries, runId } = mirrorQueriesFor(context.source);
  if (!(await queries.hasPlan(base.runId))) {
    throw new StellaError('bad_request', `base run ${base.runId} no longer has its plan in the store`);
  }
  const run = await queries.describeRun(runId);
  const files = new MirrorFiles(context, mirrorSchemaVersions());
  const sbomRecords: SlotRecord[] = [];
  const content = {} as Record<MirrorKind, MirrorKindSummary>;
  const touched: TouchedDocuments = { after: new Set(), before: new Set() };
  for (const kind of MIRROR_KINDS) {
    const changes = await slotChanges(queries, { runId, baseRunId: base.runId, kind }, touched);
    context.onProgress({ file: `${kind} changes`, records: changes.length });
    content[kind] = await writeKindChanges(files, kind, changes, partRecordsOf(context.profileConfig));
    if (kind === 'sboms') {
      sbomRecords.push(...changes.flatMap((change) => change.after?.records ?? []));
    }
  }

  const added = await queries.documentsOnlyIn(runId, base.runId, [...touched.after]);
  const removed = await queries.documentsOnlyIn(base.runId, runId, [...touched.before]);
  await writeRawDocuments(files, queries, added);
  await writeTombstones(files, 'documents', removed.map((doc) => ({ key: doc.sha256 })));
  await writeSbomGraphs(files, queries, sbomRecords);
  const sections = await writeMirrorSections({
    files,
    queries,
    runId,
    bundleKind: 'delta',
    baseRunId: base.runId,
    profileConfig: context.profileConfig,
  });

  const counts = deltaCounts(content, added.length, removed.length);
  await writeMirrorManifest(files, {
    kind: 'delta',
    profile: { id: run.profileId, kind: run.profileKind },
    filters: run.filters,
    base_export_id: base.runId,
    base_manifest_sha256: base.manifestSha256,
    counts,
    content,
    raw_documents: { count: await queries.countDocuments(runId), new_in_this_bundle: added.length },
    sections,
  });
  files.output.counts = counts;

  return files.output;
}

// A delta builds on a published mirror bundle of the same tenant, full or delta.
async function requireMirrorBase(base: BaseBundle | undefined): Promise<BaseBundle> {
  if (!base) {
    throw new StellaError('bad_request', 'mirror:delta needs a base export: pass baseRunId');
  }
  const text = await readFile(path.join(base.bundleDir, MIRROR_MANIFEST_PATH), 'utf8').catch(() => '');
  const manifest = text ? (parse(text) as { schema?: string } | null) : null;
  if (manifest?.schema !== MIRROR_SCHEMA) {
    throw new StellaError('bad_request', `base run ${base.runId} is not a mirror export`);
  }

  return base;
}

// The raw documents of the changed slots' records, per plan: the only documents that can be
// new in the delta or gone from it (see MirrorQueries.documentsOnlyIn).
interface TouchedDocuments {
  after: Set<string>;
  before: Set<string>;
}

async function slotChanges(
  queries: MirrorQueries,
  runs: { runId: string; baseRunId: string; kind: MirrorKind },
  touched: TouchedDocuments,
): Promise<SlotChange[]> {
  const records = await queries.changedSlotRecords([runs.runId, runs.baseRunId], runs.kind);
  for (const record of records) {
    (record.runId === runs.runId ? touched.after : touched.before).add(record.documentSha256);
  }
  const guard = mirrorRecordGuard(mirrorDeltaAdapter, runs.kind);
  records.filter((record) => record.runId === runs.runId).forEach((r) => guard.line(r.canonical));
  const after = groupSlots(runs.kind, records.filter((record) => record.runId === runs.runId));
  const before = groupSlots(runs.kind, records.filter((record) => record.runId === runs.baseRunId));
  const keys = new Set([...after.keys(), ...before.keys()]);
  const changes: SlotChange[] = [];
  for (const key of [...keys].sort(compareText)) {
    const change = { key, before: before.get(key), after: after.get(key) };
    if (change.before?.digest !== change.after?.digest) {
      changes.push(change);
    }
  }

  return changes;
}

function groupSlots(kind: MirrorKind, records: PlannedRecord[]): Map<string, Slot> {
  const byKey = new Map<string, PlannedRecord[]>();
  for (const record of records) {
    byKey.set(record.key, [...(byKey.get(record.key) ?? []), record]);
  }

  return new Map([...byKey].map(([key, slotRecords]) => [key, makeSlot(kind, slotRecords)]));
}

async function writeKindChanges(
  files: MirrorFiles,
  kind: MirrorKind,
  changes: SlotChange[],
  partRecords: number,
): Promise<MirrorKindSummary> {
  const upserts = changes.flatMap((change) => (change.after ? [change.after] : []));
  const parts = await writeSlotParts(files, kind, iterate(upserts), partRecords, () => undefined, (documents) => ({
    documents,
  }));
  const removed = changes.filter((change) => !change.after);
  const tombstones = await writeTombstones(files, kind, removed.map((change) => tombstoneOf(kind, change.key)));
  await files.json(INDEX_PATHS[kind], indexPatch(kind, changes), { documents: [] });

  return {
    records: parts.reduce((sum, part) => sum + part.records, 0),
    slots: upserts.length,
    parts,
    index: INDEX_PATHS[kind],
    ...(tombstones ? { tombstones } : {}),
    changes: {
      added: changes.filter((change) => !change.before && change.after).length,
      changed: changes.filter((change) => change.before && change.after).length,
      removed: removed.length,
    },
  };
}

async function writeTombstones(
  files: MirrorFiles,
  kind: TombstoneKind,
  entries: Record<string, string>[],
): Promise<{ path: string; slots: number } | undefined> {
  if (entries.length === 0) {
    return undefined;
  }
  const relative = tombstonePath(kind);
  await files.jsonl(relative, iterate(entries.map((entry) => canonicalJson(entry))), () => ({ documents: [] }));

  return { path: relative, slots: entries.length };
}

function tombstoneOf(kind: MirrorKind, key: string): Record<string, string> {
  return kind === 'vex' ? { key, ...splitVexSlotKey(key) } : { key };
}

function indexPatch(kind: MirrorKind, changes: SlotChange[]) {
  if (kind === 'advisories') return advisoryIndexPatch(changes);
  if (kind === 'vex') return vexIndexPatch(changes);

  return sbomIndexPatch(changes);
}

function deltaCounts(content: Record<MirrorKind, MirrorKindSummary>, added: number, removed: number) {
  const changed = mapKinds((kind) => content[kind].changes!);

  return {
    advisories: content.advisories.records,
    vexStatements: content.vex.records,
    sboms: content.sboms.records,
    rawDocuments: added,
    removedDocuments: removed,
    ...Object.fromEntries(
      MIRROR_KINDS.flatMap((kind) => [
        [`${kind}Added`, changed[kind].added],
        [`${kind}Changed`, changed[kind].changed],
        [`${kind}Removed`, changed[kind].removed],
      ]),
    ),
  };
}

async function* iterate<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}
