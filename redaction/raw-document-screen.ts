import type { WithheldDocument } from '../bundle/manifest.js';
import { isStellaError } from '../domain/errors.js';
import { decodeDocumentTree } from '../ingest/decode-tree.js';
import { isSecretName, secretKindOf } from './secret-patterns.js';
import { familyOf, schemaFieldsFor, type FieldList, type FormatFamily } from './schema-fields.js';

// The raw-document screen: a raw document leaves in a bundle byte for byte, or not at all.
// It passes when every object key is a property name of its format's published JSON schema
// (free-form areas of the schema excepted) and no value has the shape of a credential.
// Names only, never values, go into the result, so that it can be logged and published.
// The screen reads nothing but the bytes and the format: the same document always gets
// the same answer, which keeps base + deltas equal to a full mirror.

export type WithheldReason = WithheldDocument['reason'];

export interface RawDocumentScreenInput {
  bytes: Uint8Array;
  // The stored format (`osv`, `ghsa`, `openvex`, `csaf-vex`, `cyclonedx-sbom`,
  // `cyclonedx-vex`, `spdx`) or an SBOM row's (`cyclonedx`, `spdx`).
  format: string;
}

export type RawDocumentScreenResult =
  | { passed: true }
  | {
      passed: false;
      reason: WithheldReason;
      // RFC 6901 pointers to the offending fields, in document order, at most MAX_POINTERS.
      pointers: string[];
      pointerCount: number;
      // The document's own id (OSV id, CSAF tracking id, ...) when it is not itself flagged.
      documentId?: string;
    };

export const MAX_POINTERS = 100;

interface Findings {
  unknown: string[];
  secrets: string[];
}

export function screenRawDocument(input: RawDocumentScreenInput): RawDocumentScreenResult {
  const root = decodedRoot(input.bytes);
  if (root === undefined) {
    return withheld('unknown_fields', { unknown: [''], secrets: [] }, undefined);
  }
  const fields = schemaFieldsFor(input.format, root);
  const findings: Findings = { unknown: fields ? [] : [''], secrets: [] };
  walk(root, '', { fields, checkKeys: fields !== undefined, findings });
  if (findings.unknown.length === 0 && findings.secrets.length === 0) {
    return { passed: true };
  }
  const reason = findings.secrets.length > 0 ? 'secret_pattern' : 'unknown_fields';

  return withheld(reason, findings, documentIdOf(root, input.format, findings));
}

function decodedRoot(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    return decodeDocumentTree(bytes, 'raw-document').root;
  } catch (err) {
    // A stored document decoded once at ingest; one that no longer does is not shipped.
    if (isStellaError(err)) return undefined;
    throw err;
  }
}

function withheld(
  reason: WithheldReason,
  findings: Findings,
  documentId: string | undefined,
): RawDocumentScreenResult {
  const pointers = [...new Set([...findings.secrets, ...findings.unknown])];

  return {
    passed: false,
    reason,
    pointers: pointers.slice(0, MAX_POINTERS),
    pointerCount: pointers.length,
    ...(documentId === undefined ? {} : { documentId }),
  };
}

interface WalkState {
  fields: FieldList | undefined;
  checkKeys: boolean;
  findings: Findings;
}

function walk(value: unknown, pointer: string, state: WalkState): void {
  if (typeof value === 'string') {
    if (secretKindOf(value)) state.findings.secrets.push(pointer);

    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => walk(item, `${pointer}/${index}`, state));

    return;
  }
  if (value !== null && typeof value === 'object') {
    walkObject(value as Record<string, unknown>, pointer, state);
  }
}

function walkObject(object: Record<string, unknown>, pointer: string, state: WalkState): void {
  checkNameValuePair(object, pointer, state);
  for (const [key, child] of Object.entries(object)) {
    const childPointer = `${pointer}/${escapePointer(key)}`;
    const known = !state.checkKeys || state.fields!.names.has(key);
    if (!known) state.findings.unknown.push(childPointer);
    if (isSecretName(key) && hasContent(child)) state.findings.secrets.push(childPointer);
    // Below an unknown key only the key is reported; below a free-form one nothing is.
    const checkKeys = state.checkKeys && known && !state.fields!.freeForm.has(key);
    walk(child, childPointer, { ...state, checkKeys });
  }
}

// Name/value lists (CycloneDX `properties`) can carry a credential under a credential's
// name: `{"name": "password", "value": "..."}`.
function checkNameValuePair(object: Record<string, unknown>, pointer: string, state: WalkState) {
  const { name, value } = object;
  if (typeof name === 'string' && isSecretName(name) && hasContent(value)) {
    state.findings.secrets.push(`${pointer}/value`);
  }
}

function hasContent(value: unknown): boolean {
  if (typeof value === 'string') return value.trim() !== '';
  if (typeof value === 'number') return true;
  if (Array.isArray(value)) return value.some(hasContent);
  if (value !== null && typeof value === 'object') return Object.values(value).some(hasContent);

  return false;
}

export function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

// Where each format family keeps the document's own id; it is named only when no finding
// lies on its path, so that no value of an unknown or flagged field is ever repeated.
const ID_PATHS: Record<FormatFamily, string[]> = {
  osv: ['id'],
  openvex: ['@id'],
  csaf: ['document', 'tracking', 'id'],
  cyclonedx: ['serialNumber'],
  spdx: ['documentNamespace'],
};

function documentIdOf(
  root: Record<string, unknown>,
  format: string,
  findings: Findings,
): string | undefined {
  const family = familyOf(format);
  if (family === undefined) {
    return undefined;
  }
  const steps = ID_PATHS[family];
  const value = steps.reduce<unknown>(
    (node, step) => (isObject(node) ? node[step] : undefined),
    root,
  );
  const pointer = `/${steps.map(escapePointer).join('/')}`;
  const flagged = [...findings.unknown, ...findings.secrets].some(
    (found) => pointer === found || pointer.startsWith(`${found}/`),
  );

  return typeof value === 'string' && !flagged ? value : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// What a writer asks before it emits a raw document: undefined to write it, or the entry
// for the bundle's `withheld` list.
export function withheldEntry(document: {
  kind: string;
  sha256: string;
  format: string;
  bytes: Uint8Array;
}): WithheldDocument | undefined {
  const result = screenRawDocument(document);
  if (result.passed) {
    return undefined;
  }
  const { reason, pointers, pointerCount, documentId } = result;
  const recordId = documentId === undefined ? {} : { recordId: documentId };

  const { kind, sha256 } = document;

  return { kind, ...recordId, sha256, reason, pointers, pointerCount };
}
