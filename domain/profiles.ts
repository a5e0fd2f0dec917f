import { StellaError } from './errors.js';

export const PROFILE_KINDS = [
  'json:raw',
  'json:policy',
  'trivy:db',
  'trivy:java-db',
  'mirror:full',
  'mirror:delta',
] as const;

export type ProfileKind = (typeof PROFILE_KINDS)[number];

export interface BuiltinProfile {
  id: string;
  name: string;
  kind: ProfileKind;
}

// Every tenant starts with one profile per kind and variant, created on first use.
export const BUILTIN_PROFILES: BuiltinProfile[] = [
  { id: 'prof_json_raw', name: 'JSON raw evidence', kind: 'json:raw' },
  { id: 'prof_json_policy', name: 'JSON policy decisions', kind: 'json:policy' },
  { id: 'prof_trivy_db', name: 'Trivy vulnerability DB', kind: 'trivy:db' },
  { id: 'prof_trivy_java_db', name: 'Trivy Java DB', kind: 'trivy:java-db' },
  { id: 'prof_mirror_full', name: 'Air-gap mirror (full)', kind: 'mirror:full' },
  { id: 'prof_mirror_delta', name: 'Air-gap mirror (delta)', kind: 'mirror:delta' },
];

export function splitKind(kind: ProfileKind): { kind: string; variant: string } {
  const [family, variant] = kind.split(':');

  return { kind: family, variant };
}

export function joinKind(kind: string, variant: string): ProfileKind {
  const joined = `${kind}:${variant}`;
  if (!(PROFILE_KINDS as readonly string[]).includes(joined)) {
    throw new StellaError('bad_request', `unknown profile kind ${joined}`);
  }

  return joined as ProfileKind;
}
