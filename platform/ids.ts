import { randomBytes } from 'node:crypto';

const TENANT_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function isValidTenant(tenant: string): boolean {
  return TENANT_PATTERN.test(tenant);
}

// Time-ordered, so listings sort by creation. The tenant is part of every run id (and so of
// every workflow id and bundle path); a tenant never contains '_', so the parts stay apart.
export function newRunId(tenant: string, now = Date.now()): string {
  return `run_${tenant}_${timeOrderedSuffix(now)}`;
}

export function newId(prefix: string, now = Date.now()): string {
  return `${prefix}_${timeOrderedSuffix(now)}`;
}

export function tenantOfRunId(runId: string): string | undefined {
  const match = /^run_([a-z0-9][a-z0-9-]{0,62})_[0-9a-z]+$/.exec(runId);

  return match?.[1];
}

function timeOrderedSuffix(now: number): string {
  return now.toString(36).padStart(9, '0') + randomBytes(8).toString('hex');
}
