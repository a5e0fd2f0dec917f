import YAML from 'yaml';

import { isJsonObject, malformed, unrecognized, type JsonObject } from './read-fields.js';

export const MAX_DOCUMENT_BYTES = 32 * 1024 * 1024;
export const MAX_NESTING_DEPTH = 64;

export type DocumentSyntax = 'json' | 'yaml';

export interface DocumentTree {
  root: JsonObject;
  syntax: DocumentSyntax;
}

// Bytes → one NFC-normalized object tree, within the size and depth limits.
export function decodeDocumentTree(bytes: Uint8Array, sourceUri: string): DocumentTree {
  if (bytes.byteLength > MAX_DOCUMENT_BYTES) {
    throw malformed(`document is ${bytes.byteLength} bytes, over the 32 MiB size limit`);
  }

  const text = decodeUtf8(bytes);
  const syntax: DocumentSyntax = /^\s*[{[]/.test(text) ? 'json' : 'yaml';
  const value = syntax === 'json' ? parseJson(text) : parseYaml(text, sourceUri);
  const root = normalizeTree(value, 1);
  if (!isJsonObject(root)) throw unrecognized('document is not a JSON or YAML object');

  return { root, syntax };
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    // ignoreBOM: false strips a leading byte order mark.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (err) {
    throw unrecognized('document is not UTF-8 text', err);
  }
}

function parseJson(text: string): unknown {
  assertTextDepth(text, true);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw malformed(`document is not valid JSON: ${(err as Error).message}`, err);
  }
}

// The YAML 1.2 core schema without its int and float tags: OSV versions such as `1.10`
// or `3.0` must stay the strings they were written as, not become numbers.
const YAML_OPTIONS = {
  schema: 'core',
  customTags: (tags: YAML.Tags) => tags.filter((tag) => !isNumberTag(tag)),
  maxAliasCount: 100,
  uniqueKeys: true,
  // 'error' throws errors and drops warnings; a library must not print them.
  logLevel: 'error',
} as const;

function isNumberTag(tag: YAML.Tags[number]): boolean {
  const name = typeof tag === 'string' ? tag : tag.tag;

  return name === 'tag:yaml.org,2002:int' || name === 'tag:yaml.org,2002:float';
}

// Content decides the format; the file name only decides whether text that fails to
// parse as YAML was meant to be YAML (malformed) or is something else (unrecognized).
function parseYaml(text: string, sourceUri: string): unknown {
  assertTextDepth(text, false);
  try {
    return YAML.parse(text, YAML_OPTIONS);
  } catch (err) {
    if (isStackOverflow(err)) throw tooDeep(err);

    if (!/\.ya?ml$/i.test(sourceUri)) {
      throw unrecognized('document is neither JSON nor YAML', err);
    }

    throw malformed(`document is not valid YAML: ${firstLine(err)}`, err);
  }
}

// Depth is checked on the text before parsing: JSON.parse builds all 16 million levels of
// `[[[[…` before a tree walk could refuse them, and the YAML parser recurses per flow
// level. JSON strings are skipped exactly. YAML quotes are not tracked: 65 unclosed
// brackets inside quoted YAML text would be refused too, which no real advisory contains.
function assertTextDepth(text: string, skipJsonStrings: boolean): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === BACKSLASH) i += 1;
      else if (code === QUOTE) inString = false;
      continue;
    }

    if (code === QUOTE && skipJsonStrings) inString = true;
    else if (code === 0x5b || code === 0x7b) depth += 1;
    else if ((code === 0x5d || code === 0x7d) && depth > 0) depth -= 1;

    if (depth > MAX_NESTING_DEPTH) throw tooDeep();
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError || /call stack/i.test(String((err as Error)?.message));
}

function tooDeep(cause?: unknown): Error {
  return malformed(`document is nested deeper than the ${MAX_NESTING_DEPTH}-level limit`, cause);
}

function firstLine(err: unknown): string {
  return String((err as Error).message ?? err).split('\n')[0];
}

function normalizeTree(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.normalize('NFC');

  if (typeof value !== 'object' || value === null) return value;

  if (depth > MAX_NESTING_DEPTH) throw tooDeep();

  if (Array.isArray(value)) return value.map((item) => normalizeTree(item, depth + 1));

  return normalizeObject(value as JsonObject, depth);
}

// Keys are normalized too, so a key written in NFD still matches the field it names.
function normalizeObject(value: JsonObject, depth: number): JsonObject {
  const entries = Object.entries(value).map(([key, item]) => [
    key.normalize('NFC'),
    normalizeTree(item, depth + 1),
  ]);

  return Object.fromEntries(entries);
}
