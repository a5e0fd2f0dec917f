import { PackageURL } from 'packageurl-js';

import { fieldName, malformed, optionalString, type JsonObject } from './read-fields.js';

// RFC 3339 section 5.6, plus the lenient forms seen in the wild: a space or lower-case
// separator and an offset without the colon (`+0200`).
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})$/;

// Converts to UTC with a `Z` suffix. The fraction is copied digit for digit, because a
// JavaScript Date holds only milliseconds and OpenVEX writes nanoseconds.
export function normalizeTimestamp(value: string, field: string): string {
  const match = RFC3339.exec(value);
  if (match === null) throw badTimestamp(value, field);

  const [, year, month, day, hour, minute, second, fraction = '', zone] = match;
  const date = new Date(0);
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  date.setUTCHours(Number(hour), Number(minute), Number(second), 0);
  // A leap second (:60) fails this check too; no real feed writes one.
  const written = [year, month, day, hour, minute, second];
  if (!sameFields(date, written)) throw badTimestamp(value, field);

  date.setTime(date.getTime() - zoneOffsetMinutes(zone, value, field) * 60_000);
  if (date.getUTCFullYear() < 0 || date.getUTCFullYear() > 9999) {
    throw badTimestamp(value, field);
  }

  return `${formatUtcSeconds(date)}${fraction}Z`;
}

function badTimestamp(value: string, field: string): Error {
  const shown = JSON.stringify(value.slice(0, 80));

  return malformed(`${field} is not an RFC 3339 timestamp: ${shown}`);
}

function sameFields(date: Date, fields: string[]): boolean {
  const actual = [
    date.getUTCFullYear(),
    date.getUTCMonth() + 1,
    date.getUTCDate(),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
  ];

  return actual.every((part, index) => part === Number(fields[index]));
}

function zoneOffsetMinutes(zone: string, value: string, field: string): number {
  if (zone === 'Z' || zone === 'z') return 0;

  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2));
  if (hours > 23 || minutes > 59) throw badTimestamp(value, field);

  const sign = zone.startsWith('-') ? -1 : 1;

  return sign * (hours * 60 + minutes);
}

function formatUtcSeconds(date: Date): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const year = pad(date.getUTCFullYear(), 4);
  const day = `${year}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
  const time = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}`;

  return `${day}T${time}:${pad(date.getUTCSeconds())}`;
}

export function optionalTimestamp(value: string | undefined, field: string): string | undefined {
  return value === undefined ? undefined : normalizeTimestamp(value, field);
}

export function readTimestamp(obj: JsonObject, key: string, where: string): string | undefined {
  return optionalTimestamp(optionalString(obj, key, where), fieldName(where, key));
}

export function readPurl(obj: JsonObject, key: string, where: string): string | undefined {
  return optionalPurl(optionalString(obj, key, where), fieldName(where, key));
}

export function canonicalPurl(value: string, field: string): string {
  return parsePurl(value, field).toString();
}

export function optionalPurl(value: string | undefined, field: string): string | undefined {
  return value === undefined ? undefined : canonicalPurl(value, field);
}

export function parsePurl(value: string, field: string): PackageURL {
  try {
    return PackageURL.fromString(value);
  } catch (err) {
    throw malformed(`${field} is not a valid purl: ${JSON.stringify(value.slice(0, 200))}`, err);
  }
}

export function looksLikePurl(value: string): boolean {
  return value.startsWith('pkg:');
}

// Sorted by UTF-16 code units, not locale, so the order is the same on every host.
export function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(compareCodeUnits);
}

export function compareCodeUnits(a: string, b: string): number {
  if (a === b) return 0;

  return a < b ? -1 : 1;
}

export interface ContainerSubject {
  imageDigest?: string;
  repository?: string;
  tag?: string;
}

// The purl-spec `oci` type: the version is the image digest, `repository_url` and `tag`
// are qualifiers. Without `repository_url` the registry is unknown, so no repository is
// guessed from the name.
export function containerFromPurl(purl: string, field: string): ContainerSubject {
  const parsed = parsePurl(purl, field);
  if (parsed.type !== 'oci') return {};

  const qualifiers = parsed.qualifiers ?? {};
  const digest = parsed.version !== undefined && /^[a-z0-9]+:[0-9a-f]+$/i.test(parsed.version);

  return dropUndefined({
    imageDigest: digest ? parsed.version : undefined,
    repository: qualifiers.repository_url,
    tag: qualifiers.tag,
  });
}

// Optional fields stay absent rather than present-and-undefined, so records compare
// deep-equal with their JSON round trip.
export function dropUndefined<T extends object>(record: T): T {
  const entries = Object.entries(record).filter(([, value]) => value !== undefined);

  return Object.fromEntries(entries) as T;
}
