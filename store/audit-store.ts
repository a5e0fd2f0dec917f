import { newId } from '../platform/ids.js';
import type { Database } from './database.js';

// The audit log is append-only: this module writes and reads entries and has no function
// that changes or removes one. (The table itself is not protected against a database
// administrator; a hash chain or an external sink would be needed for that.)

export type AuditOutcome = 'allowed' | 'denied' | 'succeeded' | 'failed';

export interface AuditEntryInput {
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

export interface AuditQuery {
  action?: string;
  outcome?: AuditOutcome;
  after?: Date;
  before?: Date;
  limit: number;
}

export async function appendAuditEntry(
  db: Database,
  entry: AuditEntryInput,
): Promise<AuditEntryView> {
  const at = entry.at ?? new Date();
  const row = await db.auditEntry.create({
    data: {
      id: newId('aud', at.getTime()),
      tenant: entry.tenant,
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      outcome: entry.outcome,
      details: JSON.stringify(entry.details ?? {}),
      at,
    },
  });

  return toView(row);
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
