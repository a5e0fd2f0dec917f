import type { Role } from './auth/roles.js';

// THE route table: every API route and the least role that may call it. The access layer
// (api/auth/access-control.ts) consults only this table, so a route that is not listed
// here is refused to everyone (403) even when a handler for it exists. First match wins:
// list specific patterns before wildcards.
//
// Pattern language: `/`-separated segments; `:name` matches one non-empty segment; a
// final `*` matches zero or more further segments. Literal segments compare without case
// and one trailing slash is ignored, as Express routes by default. HEAD is checked as GET.

export type RouteAccess = Role | 'public';

export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

// What the audit log calls an action (audit_entries.action).
export type AuditAction =
  | 'run.create'
  | 'run.cancel'
  | 'run.distribute'
  | 'bundle.verify'
  | 'bundle.presign'
  | 'profile.create'
  | 'profile.update'
  | 'profile.delete'
  | 'policy.change'
  | 'schedule.change'
  | 'event.submit'
  | 'key.change'
  | 'retention.change'
  | 'access.denied';

export interface RoutePermission {
  method: RouteMethod;
  pattern: string;
  access: RouteAccess;
  audit?: AuditAction;
  // Run creation is rate limited per tenant (api/auth/tenant-rate-limit.ts).
  rateLimited?: boolean;
}

const VIEWER = 'Export.Viewer';
const OPERATOR = 'Export.Operator';
const ADMIN = 'Export.Admin';

export const ROUTE_PERMISSIONS: readonly RoutePermission[] = [
  { method: 'GET', pattern: '/healthz', access: 'public' },
  // Metrics carry no tenant label (api/metrics.ts), so scrapers need no token.
  { method: 'GET', pattern: '/metrics', access: 'public' },
  // Public signing keys: verifying a bundle must not need an account.
  { method: 'GET', pattern: '/export/jwks', access: 'public' },
  // The web console's static shell and modules (api/routes/console.ts): no data in them;
  // every data call they make goes through the routes below with the user's token.
  { method: 'GET', pattern: '/console/*', access: 'public' },

  { method: 'GET', pattern: '/export/profiles', access: VIEWER },
  { method: 'GET', pattern: '/export/profiles/:id', access: VIEWER },
  { method: 'POST', pattern: '/export/profiles', access: ADMIN, audit: 'profile.create' },
  { method: 'PATCH', pattern: '/export/profiles/:id', access: ADMIN, audit: 'profile.update' },
  { method: 'DELETE', pattern: '/export/profiles/:id', access: ADMIN, audit: 'profile.delete' },

  { method: 'GET', pattern: '/export/runs', access: VIEWER },
  {
    method: 'POST',
    pattern: '/export/runs',
    access: OPERATOR,
    audit: 'run.create',
    rateLimited: true,
  },
  { method: 'GET', pattern: '/export/runs/:id', access: VIEWER },
  { method: 'POST', pattern: '/export/runs/:id/cancel', access: OPERATOR, audit: 'run.cancel' },
  { method: 'GET', pattern: '/export/runs/:id/download', access: VIEWER },
  { method: 'GET', pattern: '/export/runs/:id/manifest', access: VIEWER },
  { method: 'GET', pattern: '/export/runs/:id/provenance', access: VIEWER },
  { method: 'GET', pattern: '/export/runs/:id/signatures', access: VIEWER },
  { method: 'POST', pattern: '/export/runs/:id/verify', access: VIEWER, audit: 'bundle.verify' },
  {
    method: 'POST',
    pattern: '/export/runs/:id/distribute',
    access: OPERATOR,
    audit: 'run.distribute',
  },
  { method: 'GET', pattern: '/export/runs/:id/distributions', access: VIEWER },
  { method: 'GET', pattern: '/export/runs/:id/distributions/*', access: VIEWER },

  { method: 'GET', pattern: '/export/policies/*', access: VIEWER },
  { method: 'POST', pattern: '/export/policies/*', access: ADMIN, audit: 'policy.change' },
  { method: 'PUT', pattern: '/export/policies/*', access: ADMIN, audit: 'policy.change' },
  { method: 'PATCH', pattern: '/export/policies/*', access: ADMIN, audit: 'policy.change' },
  { method: 'DELETE', pattern: '/export/policies/*', access: ADMIN, audit: 'policy.change' },

  { method: 'GET', pattern: '/export/schedules/*', access: VIEWER },
  { method: 'POST', pattern: '/export/schedules/*', access: OPERATOR, audit: 'schedule.change' },
  { method: 'PUT', pattern: '/export/schedules/*', access: OPERATOR, audit: 'schedule.change' },
  { method: 'PATCH', pattern: '/export/schedules/*', access: OPERATOR, audit: 'schedule.change' },
  { method: 'DELETE', pattern: '/export/schedules/*', access: OPERATOR, audit: 'schedule.change' },

  { method: 'GET', pattern: '/export/events', access: VIEWER },
  { method: 'POST', pattern: '/export/events', access: OPERATOR, audit: 'event.submit' },

  // Audited by their handlers (api/routes/keys.ts), with the key ids they changed.
  { method: 'POST', pattern: '/export/keys/rotate', access: ADMIN },
  { method: 'POST', pattern: '/export/keys/:kid/compromise', access: ADMIN },
  { method: 'GET', pattern: '/export/keys/*', access: ADMIN },
  { method: 'POST', pattern: '/export/keys/*', access: ADMIN, audit: 'key.change' },
  { method: 'DELETE', pattern: '/export/keys/*', access: ADMIN, audit: 'key.change' },
  { method: 'GET', pattern: '/export/retention/*', access: ADMIN },
  { method: 'PUT', pattern: '/export/retention/*', access: ADMIN, audit: 'retention.change' },
  { method: 'POST', pattern: '/export/retention/*', access: ADMIN, audit: 'retention.change' },

  { method: 'GET', pattern: '/export/audit', access: ADMIN },
];

export interface RouteMatch {
  permission: RoutePermission;
  params: Record<string, string>;
}

// The table entry that governs a request, or undefined: no entry means no access.
export function permissionFor(method: string, path: string): RouteMatch | undefined {
  const wanted = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  for (const permission of ROUTE_PERMISSIONS) {
    if (permission.method !== wanted) {
      continue;
    }
    const params = matchPattern(permission.pattern, path);
    if (params) {
      return { permission, params };
    }
  }

  return undefined;
}

export function matchPattern(pattern: string, path: string): Record<string, string> | undefined {
  const expected = pattern.split('/');
  const actual = (path.length > 1 ? path.replace(/\/$/, '') : path).split('/');
  const params: Record<string, string> = {};
  for (let i = 0; i < expected.length; i++) {
    const want = expected[i];
    if (want === '*' && i === expected.length - 1) {
      return params;
    }
    const got = actual[i];
    if (got === undefined || !segmentMatches(want, got, params)) {
      return undefined;
    }
  }

  return actual.length === expected.length ? params : undefined;
}

function segmentMatches(want: string, got: string, params: Record<string, string>): boolean {
  if (want.startsWith(':')) {
    params[want.slice(1)] = got;

    return got.length > 0;
  }

  return want.toLowerCase() === got.toLowerCase();
}
