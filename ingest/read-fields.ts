import { StellaError } from '../domain/errors.js';

// Typed reads from a parsed JSON/YAML tree. `where` names the enclosing element the way a
// reader would find it in the document (e.g. `statements[3].products[0]`), so the message
// of a malformed_document error points at the broken field.

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function malformed(message: string, cause?: unknown): StellaError {
  return new StellaError('malformed_document', message, { cause });
}

export function unrecognized(message: string, cause?: unknown): StellaError {
  return new StellaError('unrecognized_document', message, { cause });
}

export function fieldName(where: string, key: string): string {
  return where === '' ? key : `${where}.${key}`;
}

// `null` counts as absent: producers write `"nvd_published_at": null` for "unknown".
export function optionalString(obj: JsonObject, key: string, where: string): string | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;

  if (typeof value !== 'string') throw malformed(`${fieldName(where, key)} is not a string`);

  return value;
}

export function requiredString(obj: JsonObject, key: string, where: string): string {
  const value = optionalString(obj, key, where);
  if (value === undefined) throw malformed(`${fieldName(where, key)} is missing`);

  return value;
}

// Empty strings carry nothing for optional prose fields (CycloneDX writes `"detail": ""`).
export function optionalText(obj: JsonObject, key: string, where: string): string | undefined {
  const value = optionalString(obj, key, where);

  return value === '' ? undefined : value;
}

export function optionalObject(
  obj: JsonObject,
  key: string,
  where: string,
): JsonObject | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;

  if (!isJsonObject(value)) throw malformed(`${fieldName(where, key)} is not an object`);

  return value;
}

export function arrayOf(obj: JsonObject, key: string, where: string): unknown[] {
  const value = obj[key];
  if (value === undefined || value === null) return [];

  if (!Array.isArray(value)) throw malformed(`${fieldName(where, key)} is not an array`);

  return value;
}

export function objectsOf(obj: JsonObject, key: string, where: string): JsonObject[] {
  return arrayOf(obj, key, where).map((item, index) => {
    if (isJsonObject(item)) return item;

    throw malformed(`${fieldName(where, key)}[${index}] is not an object`);
  });
}

export function stringsOf(obj: JsonObject, key: string, where: string): string[] {
  return arrayOf(obj, key, where).map((item, index) => {
    if (typeof item !== 'string') {
      throw malformed(`${fieldName(where, key)}[${index}] is not a string`);
    }

    return item;
  });
}
