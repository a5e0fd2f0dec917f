import type { NormalizedVexStatement, VexStatus } from '../domain/records.js';
import { malformed } from './read-fields.js';
import { dropUndefined } from './normalize-values.js';

const VEX_STATUSES: readonly VexStatus[] = [
  'not_affected',
  'affected',
  'fixed',
  'under_investigation',
];

// CycloneDX `affects[].versions[].status`: what one version (or range) of the product is.
export type VexVersionStatus = 'affected' | 'unaffected' | 'unknown';

// One entry of a statement's per-version states: exactly one of `version` (as the document
// spells it) or `range` (a `vers:` expression) is set.
export interface VexVersionState {
  version?: string;
  range?: string;
  status: VexVersionStatus;
}

// The normalized statement plus the per-version states a CycloneDX analysis may carry.
// Missing: `versions` belongs in NormalizedVexStatement (domain/records.ts); until it is
// moved there, this type is the record that is stored and exported.
export interface VexStatementRecord extends NormalizedVexStatement {
  versions?: VexVersionState[];
}

export function vexStatusOf(value: string | undefined, field: string): VexStatus {
  if (value === undefined) throw malformed(`${field} is missing`);

  const status = VEX_STATUSES.find((known) => known === value);
  if (status === undefined) {
    throw malformed(`${field} has unknown VEX status ${JSON.stringify(value)}`);
  }

  return status;
}

// Every VEX parser builds its records here, so all three formats emit the same key order
// and leave unknown optional fields absent.
export function vexStatement(fields: VexStatementRecord): VexStatementRecord {
  return dropUndefined({
    vulnerability: fields.vulnerability,
    aliases: fields.aliases,
    product: fields.product,
    subcomponents: fields.subcomponents,
    status: fields.status,
    justification: fields.justification,
    impactStatement: fields.impactStatement,
    actionStatement: fields.actionStatement,
    issuer: fields.issuer,
    timestamp: fields.timestamp,
    versions: fields.versions,
  });
}
