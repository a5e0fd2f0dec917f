import { z } from 'zod';
import { StellaError } from '../domain/errors.js';
import type { NormalizedAdvisory, SbomComponent } from '../domain/records.js';
import type { RunRecordSource } from '../store/export-records.js';
import type { ExportAdapter, WriteContext } from './export-adapter.js';
import { EMITTED_RECORD_SCHEMAS, type EmittedRecordType } from './record-schemas.js';

// The one drift check every adapter shares (issue #9): each record an adapter emits is held
// against the strict schema of its type (record-schemas.ts), and a field outside it fails
// the run with schema_mismatch naming the field and the adapter. Non-retryable by class,
// so the workflow gives up on the first attempt.
//
// The zod schemas are compiled once into plain field trees: the check walks a record's
// keys only, because writers stream hundreds of thousands of lines and a full zod parse of
// each would cost more than the compression it feeds. Pre-serialized lines are not even
// parsed when every field name in them is one the record type knows (see `line`).

export interface AdapterIdentity {
  kind: string;
  name: string;
}

type FieldTree =
  | { fields: Map<string, FieldTree> }
  | { element: FieldTree }
  | { values: FieldTree }
  | null;

const TREES = new Map<EmittedRecordType, FieldTree>();

export class RecordGuard {
  private readonly tree: FieldTree;
  private readonly names: Set<string>;

  constructor(
    private readonly adapter: AdapterIdentity,
    private readonly type: EmittedRecordType,
  ) {
    this.tree = fieldTreeOf(type);
    this.names = fieldNamesOf(this.tree);
  }

  // For pre-serialized lines streamed as stored; returns the line unchanged. Fast path: a
  // scan of the field names, with no parse (JSON.parse of every line doubled the json:raw
  // write time in bench). Any name the record type does not use anywhere, or a name the
  // scan cannot read, sends the line through the full walk, which names the exact path.
  // Missing: the fast path does not see a known name moved to another depth.
  line(text: string): string {
    if (!namesAllKnown(text, this.names)) {
      this.check(JSON.parse(text) as unknown);
    }

    return text;
  }

  check<T>(record: T): T {
    const path: (string | number)[] = [];
    const unknown = firstUnknownField(record, this.tree, path);
    if (unknown !== null) {
      throw this.mismatch(unknown);
    }

    return record;
  }

  // Keeps only the allow-listed fields, at every depth: for writers that build an emitted
  // record from a wider object.
  project<T>(record: T): T {
    return projectFields(record, this.tree) as T;
  }

  private mismatch(field: string): StellaError {
    const { kind, name } = this.adapter;

    return new StellaError(
      'schema_mismatch',
      `adapter ${kind} (${name}) would emit ${this.type} field "${field}", ` +
        'which is not in its record schema',
      { details: { adapter: kind, adapterName: name, recordType: this.type, field } },
    );
  }
}

export async function* guardLines(
  guard: RecordGuard,
  lines: AsyncIterable<string>,
): AsyncGenerator<string> {
  for await (const line of lines) {
    yield guard.line(line);
  }
}

// Every adapter runs through this (adapters/registry.ts): the records it reads from the
// run's record source are checked before the adapter sees them. Records that adapters
// read elsewhere (mirror plan rows, policy findings) are checked where they are written.
export function withSchemaGuard(adapter: ExportAdapter): ExportAdapter {
  return {
    ...adapter,
    write: (context: WriteContext) =>
      adapter.write({ ...context, source: guardedRecordSource(context.source, adapter) }),
  };
}

// A view of the record source whose record streams are checked. It inherits from the
// source, so the store handles that mirror and policy queries reach through stay visible.
export function guardedRecordSource(
  source: RunRecordSource,
  adapter: AdapterIdentity,
): RunRecordSource {
  const advisory = new RecordGuard(adapter, 'advisory');
  const vex = new RecordGuard(adapter, 'vexStatement');
  const component = new RecordGuard(adapter, 'sbomComponent');
  const guarded = Object.create(source) as RunRecordSource;
  guarded.advisoryLines = () => guardLines(advisory, source.advisoryLines());
  guarded.vexLines = () => guardLines(vex, source.vexLines());
  guarded.advisories = () => checkedAdvisories(advisory, source.advisoryLines());
  guarded.sbomComponents = () => checkedComponents(component, source.sbomComponents());

  return guarded;
}

async function* checkedAdvisories(
  guard: RecordGuard,
  lines: AsyncIterable<string>,
): AsyncGenerator<NormalizedAdvisory> {
  for await (const line of lines) {
    yield guard.check(JSON.parse(line) as NormalizedAdvisory);
  }
}

async function* checkedComponents(
  guard: RecordGuard,
  components: AsyncIterable<SbomComponent>,
): AsyncGenerator<SbomComponent> {
  for await (const component of components) {
    yield guard.check(component);
  }
}

function fieldTreeOf(type: EmittedRecordType): FieldTree {
  let tree = TREES.get(type);
  if (tree === undefined) {
    tree = compile(EMITTED_RECORD_SCHEMAS[type]);
    TREES.set(type, tree);
  }

  return tree;
}

function fieldNamesOf(tree: FieldTree, names = new Set<string>()): Set<string> {
  if (tree === null) return names;
  if ('element' in tree) return fieldNamesOf(tree.element, names);
  if ('values' in tree) return fieldNamesOf(tree.values, names);
  for (const [name, sub] of tree.fields) {
    names.add(name);
    fieldNamesOf(sub, names);
  }

  return names;
}

// In JSON text an unescaped quote followed by a colon always ends an object key (a string
// value is followed by `,`, `}` or `]`), so every key is found with indexOf alone.
function namesAllKnown(text: string, names: Set<string>): boolean {
  for (let end = text.indexOf('":'); end !== -1; end = text.indexOf('":', end + 2)) {
    if (isEscaped(text, end)) continue;
    const start = text.lastIndexOf('"', end - 1);
    if (start === -1 || isEscaped(text, start) || !names.has(text.slice(start + 1, end))) {
      return false;
    }
  }

  return true;
}

function isEscaped(text: string, quoteAt: number): boolean {
  let backslashes = 0;
  for (let i = quoteAt - 1; i >= 0 && text.charCodeAt(i) === 92; i--) backslashes += 1;

  return backslashes % 2 === 1;
}

function compile(schema: z.ZodType): FieldTree {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable) {
    return compile(schema.unwrap() as z.ZodType);
  }
  if (schema instanceof z.ZodObject) {
    const entries = Object.entries(schema.shape as Record<string, z.ZodType>);

    return { fields: new Map(entries.map(([key, field]) => [key, compile(field)])) };
  }
  if (schema instanceof z.ZodArray) {
    return { element: compile(schema.element as z.ZodType) };
  }
  if (schema instanceof z.ZodRecord) {
    return { values: compile(schema.valueType as z.ZodType) };
  }

  return null;
}

// Returns the dotted path of the first field the tree does not allow, or null.
function firstUnknownField(value: unknown, tree: FieldTree, path: (string | number)[]): string | null {
  if (tree === null || value === null || typeof value !== 'object') {
    return null;
  }
  if ('element' in tree || 'values' in tree) {
    const inner = 'element' in tree ? tree.element : tree.values;
    for (const [key, item] of Object.entries(value)) {
      path.push(Array.isArray(value) ? Number(key) : key);
      const found = firstUnknownField(item, inner, path);
      path.pop();
      if (found !== null) return found;
    }

    return null;
  }

  return firstUnknownKey(value as Record<string, unknown>, tree.fields, path);
}

function firstUnknownKey(
  value: Record<string, unknown>,
  fields: Map<string, FieldTree>,
  path: (string | number)[],
): string | null {
  for (const key in value) {
    const sub = fields.get(key);
    path.push(key);
    const found = sub === undefined && !fields.has(key)
      ? formatPath(path)
      : firstUnknownField(value[key], sub ?? null, path);
    path.pop();
    if (found !== null) return found;
  }

  return null;
}

function projectFields(value: unknown, tree: FieldTree): unknown {
  if (tree === null || value === null || typeof value !== 'object') {
    return value;
  }
  if ('element' in tree) {
    return Array.isArray(value) ? value.map((item) => projectFields(item, tree.element)) : value;
  }
  if ('values' in tree) {
    const entries = Object.entries(value).map(([k, v]) => [k, projectFields(v, tree.values)]);

    return Object.fromEntries(entries);
  }
  const kept = Object.entries(value).filter(([key]) => tree.fields.has(key));

  return Object.fromEntries(kept.map(([k, v]) => [k, projectFields(v, tree.fields.get(k)!)]));
}

function formatPath(path: (string | number)[]): string {
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}
