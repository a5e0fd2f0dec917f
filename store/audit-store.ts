import { newId } from '../platform/ids.js';
import type { Database } from './database.js';

// The audit log is append-only: this module writes and reads entries and has no function
// that changes or removes one. (The table itself is not protected against a database
// administrator; a hash chain or an external sink would be needed for that.)

export type AuditOutcome = 'allowed' | 'denied' | 'succeeded' | 'failed';

export interface AuditEntryInput {
  // Chosen by the caller only for an event a retry may record twice; new otherwise.
  id?: string;
  tenant: string;
  actor: string;
  action: string;
  target: string;
  outcome: AuditOutcome;
  details?: Record<string, unknown>;
  at?: Date;
}

export interface AuditEntryView {
  id: string;
  tenant: string;
  actor: string;
  action: string;
  target: string;
  outcome: AuditOutcome;
  details: Record<string, unknown>;
  at: string;
}

type AuditRowData = Parameters<Database['auditEntry']['create']>[0]['data'] & {
  id: string;
  tenant: string;
};

export interface AuditQuery {
  action?: string;
  outcome?: AuditOutcome;
  after?: Date;
  before?: Date;
  limit: number;
}

// With an id of the caller's own, the append is idempotent: a retried activity that records
// the same event again gets the first entry back, unchanged.
export async function appendAuditEntry(
  db: Database,
  entry: AuditEntryInput,
): Promise<AuditEntryView> {
  const at = entry.at ?? new Date();
  const data: AuditRowData = {
    id: entry.id ?? newId('aud', at.getTime()),
    tenant: entry.tenant,
    actor: entry.actor,
    action: entry.action,
    target: entry.target,
    outcome: entry.outcome,
    details: JSON.stringify(entry.details ?? {}),
    at,
  };
  const row = entry.id ? await createOnce(db, data) : await db.auditEntry.create({ data });

  return toView(row);
}

// An entry already under this id is returned as it is (update: {} changes nothing).
async function createOnce(db: Database, data: AuditRowData) {
  return db.auditEntry.upsert({
    where: { id: data.id, tenant: data.tenant },
    update: {},
    create: data,
  });
}

// Newest first, always within one tenant.
export async function listAuditEntries(
  db: Database,
  tenant: string,
  query: AuditQuery,
): Promise<AuditEntryView[]> {
  const rows = await db.auditEntry.findMany({
    where: {
      tenant,
      action: query.action,
      outcome: query.outcome,
      at: { gte: query.after, lte: query.before },
    },
    orderBy: [{ at: 'desc' }, { id: 'desc' }],
    take: query.limit,
  });

  return rows.map(toView);
}

function toView(row: {
  id: string;
  tenant: string;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  details: string;
  at: Date;
}): AuditEntryView {
  return {
    id: row.id,
    tenant: row.tenant,
    actor: row.actor,
    action: row.action,
    target: row.target,
    outcome: row.outcome as AuditOutcome,
    details: JSON.parse(row.details) as Record<string, unknown>,
    at: row.at.toISOString(),
  };
}
