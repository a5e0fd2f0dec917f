import type { Request } from 'express';
import { StellaError } from '../domain/errors.js';
import { isValidTenant } from '../platform/ids.js';

export const TENANT_HEADER = 'x-stella-tenant';

// Until token authentication lands, the tenant is named by a header; every handler reads it
// through here and passes it to the store, which scopes every query by it.
export function tenantOf(req: Request): string {
  const tenant = req.header(TENANT_HEADER) ?? 'default';
  if (!isValidTenant(tenant)) {
    throw new StellaError('bad_request', `invalid tenant ${JSON.stringify(tenant)}`);
  }

  return tenant;
}
