import type { Request } from 'express';
import { StellaError } from '../domain/errors.js';
import { principalOf } from './auth/principal.js';

// The tenant of a request is the `tenant` claim of its verified token, never a header or
// a parameter: every handler reads it through here and passes it to the store, which
// scopes every query by it. A request that reached a handler without a principal is a bug
// in the route table (a public route reading tenant data), so it is refused.
export function tenantOf(req: Request): string {
  const principal = principalOf(req);
  if (!principal) {
    throw new StellaError('unauthenticated', 'this request carries no verified token', {
      details: { reason: 'missing_token' },
    });
  }

  return principal.tenant;
}
