import type { NormalizedVexStatement, VexStatus } from '../domain/records.js';
import { malformed } from './read-fields.js';
import { dropUndefined } from './normalize-values.js';

const VEX_STATUSES: readonly VexStatus[] = [
  'not_affected',
  'affected',
  'fixed',
  'under_investigation',
];

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
export function vexStatement(fields: NormalizedVexStatement): NormalizedVexStatement {
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
