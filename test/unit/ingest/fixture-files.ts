import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import type { ParsedDocument } from '../../../domain/records.js';
import { parseDocument } from '../../../ingest/parse-document.js';

export const EVIDENCE_DIR = fileURLToPath(new URL('../../fixtures/evidence/', import.meta.url));

export async function readEvidence(relativePath: string): Promise<Uint8Array> {
  return readFile(EVIDENCE_DIR + relativePath);
}

export async function parseEvidence(relativePath: string): Promise<ParsedDocument> {
  return parseDocument(await readEvidence(relativePath), EVIDENCE_DIR + relativePath);
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

// A real fixture with one field changed, for the malformed-document cases.
export async function editedEvidence(
  relativePath: string,
  edit: (doc: Record<string, unknown>) => void,
): Promise<Uint8Array> {
  const doc = JSON.parse(new TextDecoder().decode(await readEvidence(relativePath)));
  edit(doc);

  return utf8(JSON.stringify(doc));
}
