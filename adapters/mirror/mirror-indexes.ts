import { INDEX_PATCH_SCHEMA, INDEX_SCHEMA, sbomGraphPath, splitVexSlotKey } from './mirror-layout.js';
import type { Slot, SlotRecord } from './mirror-slots.js';

// The lookup indexes a mirror carries: package → advisory ids, vulnerability ↔ product for
// VEX, subject → SBOM documents. A full mirror writes them whole; a delta writes a patch
// (what to add and remove) computed from the changed slots alone.

type Nested = Map<string, Map<string, Set<string>>>;

export interface SbomIndexEntry {
  documentSha256: string;
  format: string;
  graph: string;
}

export class AdvisoryIndex {
  private readonly packages: Nested = new Map();

  addSlot(slot: Slot): void {
    for (const [ecosystem, name] of packagesOf(slot.records)) {
      addNested(this.packages, ecosystem, name, slot.key);
    }
  }

  toJson() {
    return { schema: INDEX_SCHEMA, kind: 'advisories', packages: nestedJson(this.packages) };
  }
}

export class VexIndex {
  private readonly pairs: Nested = new Map();

  addSlot(slot: Slot): void {
    const { vulnerability, product } = splitVexSlotKey(slot.key);
    addNested(this.pairs, 'vulnerabilities', vulnerability, product);
    addNested(this.pairs, 'products', product, vulnerability);
  }

  toJson() {
    const json = nestedJson(this.pairs);

    return {
      schema: INDEX_SCHEMA,
      kind: 'vex',
      vulnerabilities: json.vulnerabilities ?? {},
      products: json.products ?? {},
    };
  }
}

export class SbomIndex {
  private readonly subjects = new Map<string, SbomIndexEntry[]>();

  addSlot(slot: Slot): void {
    this.subjects.set(slot.key, sbomEntries(slot));
  }

  toJson() {
    return { schema: INDEX_SCHEMA, kind: 'sboms', subjects: Object.fromEntries(this.subjects) };
  }
}

export function sbomEntries(slot: Slot): SbomIndexEntry[] {
  return slot.records.map((record) => ({
    documentSha256: record.documentSha256,
    format: String((JSON.parse(record.canonical) as { format?: string }).format ?? ''),
    graph: sbomGraphPath(record.documentSha256),
  }));
}

// --- patches ------------------------------------------------------------------------------

export interface SlotChange {
  key: string;
  before?: Slot; // absent: added
  after?: Slot; // absent: removed
}

export function advisoryIndexPatch(changes: SlotChange[]) {
  const add: Nested = new Map();
  const remove: Nested = new Map();
  for (const change of changes) {
    const before = keysOf(packagesOf(change.before?.records ?? []));
    const after = keysOf(packagesOf(change.after?.records ?? []));
    difference(after, before).forEach((pkg) => addNested(add, ...splitPackage(pkg), change.key));
    difference(before, after).forEach((pkg) => addNested(remove, ...splitPackage(pkg), change.key));
  }

  return { schema: INDEX_PATCH_SCHEMA, kind: 'advisories', add: nestedJson(add), remove: nestedJson(remove) };
}

export function vexIndexPatch(changes: SlotChange[]) {
  const added = new VexIndex();
  const removed = new VexIndex();
  for (const change of changes) {
    if (!change.before && change.after) added.addSlot(change.after);
    if (change.before && !change.after) removed.addSlot(change.before);
  }
  const { vulnerabilities, products } = added.toJson();
  const gone = removed.toJson();

  return {
    schema: INDEX_PATCH_SCHEMA,
    kind: 'vex',
    add: { vulnerabilities, products },
    remove: { vulnerabilities: gone.vulnerabilities, products: gone.products },
  };
}

export function sbomIndexPatch(changes: SlotChange[]) {
  const set: Record<string, SbomIndexEntry[]> = {};
  const remove: string[] = [];
  for (const change of changes) {
    if (change.after) set[change.key] = sbomEntries(change.after);
    else remove.push(change.key);
  }

  return { schema: INDEX_PATCH_SCHEMA, kind: 'sboms', set, remove: remove.sort() };
}

// --- helpers ------------------------------------------------------------------------------

const PACKAGE_SEPARATOR = '\u001f';

function packagesOf(records: SlotRecord[]): [string, string][] {
  const found: [string, string][] = [];
  for (const record of records) {
    const advisory = JSON.parse(record.canonical) as { affected?: { ecosystem: string; name: string }[] };
    for (const affected of advisory.affected ?? []) {
      found.push([affected.ecosystem, affected.name]);
    }
  }

  return found;
}

function keysOf(pairs: [string, string][]): Set<string> {
  return new Set(pairs.map(([ecosystem, name]) => `${ecosystem}${PACKAGE_SEPARATOR}${name}`));
}

function splitPackage(key: string): [string, string] {
  const at = key.indexOf(PACKAGE_SEPARATOR);

  return [key.slice(0, at), key.slice(at + 1)];
}

function difference(a: Set<string>, b: Set<string>): string[] {
  return [...a].filter((item) => !b.has(item));
}

function addNested(map: Nested, outer: string, inner: string, value: string): void {
  let level = map.get(outer);
  if (!level) {
    level = new Map();
    map.set(outer, level);
  }
  let values = level.get(inner);
  if (!values) {
    values = new Set();
    level.set(inner, values);
  }
  values.add(value);
}

// Objects with sorted arrays: canonical JSON sorts the keys.
function nestedJson(map: Nested): Record<string, Record<string, string[]>> {
  const json: Record<string, Record<string, string[]>> = {};
  for (const [outer, level] of map) {
    json[outer] = {};
    for (const [inner, values] of level) {
      json[outer][inner] = [...values].sort();
    }
  }

  return json;
}
