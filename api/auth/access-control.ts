import type { Request, RequestHandler, Response } from 'express';
import { isStellaError, StellaError } from '../../domain/errors.js';
import type { StellaConfig } from '../../platform/config.js';
import type { Logger } from '../../platform/logger.js';
import { appendAuditEntry } from '../../store/audit-store.js';
import type { Database } from '../../store/database.js';
import { permissionFor, type RouteMatch } from '../route-permissions.js';
import { loadAuthConfig, type AuthConfig } from './auth-config.js';
import { attachPrincipal } from './principal.js';
import { grants, highestRole } from './roles.js';
import {
  createTenantRateLimiter,
  rateLimitFromEnv,
  type RateLimitOptions,
  type TenantRateLimiter,
} from './tenant-rate-limit.js';
import {
  createTokenVerifier,
  rejection,
  type Principal,
  type TokenVerifier,
} from './token-verifier.js';

// What a handler may add to its route's audit entry (res.locals.audit): an outcome the
// status code cannot tell (a verification answered 200 with `ok: false` failed) and details.
export interface HandlerAuditNote {
  outcome?: 'succeeded' | 'failed';
  details?: Record<string, unknown>;
}

export interface AccessControlDependencies {
  db: Database;
  config: StellaConfig;
  logger: Logger;
  auth?: AuthConfig; // default: from STELLA_AUTH* (api/auth/auth-config.ts)
  rateLimit?: RateLimitOptions; // default: from STELLA_RUN_RATE_*
}

interface AccessContext {
  deps: AccessControlDependencies;
  verifier: TokenVerifier;
  limiter: TenantRateLimiter;
}

// The one place where every request is authenticated and authorized, before any handler
// runs: route table lookup → public? → bearer token verified → role check → rate limit →
// audit of the action once answered.
export function accessControl(deps: AccessControlDependencies): RequestHandler {
  const context: AccessContext = {
    deps,
    verifier: createTokenVerifier(deps.auth ?? loadAuthConfig(deps.config.dataDir)),
    limiter: createTenantRateLimiter(deps.rateLimit ?? rateLimitFromEnv()),
  };

  return (req, res, next) => {
    admit(context, req, res).then((admitted) => (admitted ? next() : undefined), next);
  };
}

async function admit(context: AccessContext, req: Request, res: Response): Promise<boolean> {
  const match = permissionFor(req.method, req.path);
  if (match?.permission.access === 'public') {
    return true;
  }

  const principal = await authenticate(context, req, res);
  attachPrincipal(req, principal);
  const granted = await authorize(context, req, principal, match);
  if (granted.permission.rateLimited && !withinRateLimit(context, principal, res)) {
    return false;
  }
  auditWhenAnswered(context, req, res, principal, granted);

  return true;
}

async function authenticate(context: AccessContext, req: Request, res: Response): Promise<Principal> {
  try {
    return await context.verifier.verify(bearerToken(req));
  } catch (err) {
    // RFC 6750 §3: a 401 names the scheme it expects.
    res.setHeader('WWW-Authenticate', 'Bearer realm="stella-export-center", error="invalid_token"');
    await recordUnauthenticated(context, req, err);
    throw err;
  }
}

// A request without a valid token proves no tenant, and the tenant a forged token claims
// must not let anyone write into that tenant's log; 401s go to the default tenant's log
// (the one the CLI and the demo use), readable by its Admins.
// Missing: 401 entries are not rate-limited or coalesced, so a flood of bad requests
// writes one row each.
export const UNAUTHENTICATED_AUDIT_TENANT = 'default';

async function recordUnauthenticated(context: AccessContext, req: Request, err: unknown) {
  const reason = isStellaError(err) ? String(err.details?.reason ?? err.code) : 'invalid_token';
  await appendAuditEntry(context.deps.db, {
    tenant: UNAUTHENTICATED_AUDIT_TENANT,
    actor: 'anonymous',
    action: 'access.denied',
    target: `${req.method} ${req.path}`,
    outcome: 'denied',
    details: { reason, status: 401, ip: req.ip ?? null },
  }).catch((auditErr: unknown) => {
    // The 401 is still the answer: a failing audit write must not turn it into a 500.
    context.deps.logger.error({ err: auditErr }, 'Audit entry could not be written');
  });
}

function bearerToken(req: Request): string {
  const header = req.header('authorization');
  if (!header) {
    throw rejection('missing_token', 'this request needs a bearer token (try `stella auth token`)');
  }
  const match = /^Bearer[ ]+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header);
  if (!match) {
    throw rejection('malformed_token', 'the Authorization header is not "Bearer <token>"');
  }

  return match[1];
}

async function authorize(
  context: AccessContext,
  req: Request,
  principal: Principal,
  match: RouteMatch | undefined,
): Promise<RouteMatch> {
  if (!match) {
    await recordDenial(context, req, principal, 'route_not_listed');
    throw denied(req, 'route_not_listed');
  }
  const required = match.permission.access;
  if (required !== 'public' && !grants(principal.roles, required)) {
    await recordDenial(context, req, principal, 'role_missing', required);
    throw denied(req, 'role_missing', required);
  }

  return match;
}

function denied(req: Request, reason: string, required?: string): StellaError {
  const needs = required ? `; it needs ${required}` : '';

  return new StellaError('denied', `${req.method} ${req.path} is not allowed${needs}`, {
    details: { reason, ...(required ? { requiredRole: required } : {}) },
  });
}

async function recordDenial(
  context: AccessContext,
  req: Request,
  principal: Principal,
  reason: string,
  required?: string,
): Promise<void> {
  await appendAuditEntry(context.deps.db, {
    tenant: principal.tenant,
    actor: principal.subject,
    action: 'access.denied',
    target: `${req.method} ${req.path}`,
    outcome: 'denied',
    details: { reason, requiredRole: required ?? null, role: highestRole(principal.roles) ?? null },
  });
}

function withinRateLimit(context: AccessContext, principal: Principal, res: Response): boolean {
  const decision = context.limiter.take(principal.tenant);
  if (decision.allowed) {
    return true;
  }

  // A client backs off by Retry-After; the CLI exits 8 (an export error, not bad input).
  res.status(429).setHeader('Retry-After', String(decision.retryAfterSeconds));
  res.json({
    error_class: 'rate_limited',
    message: `too many export runs for this tenant; retry in ${decision.retryAfterSeconds}s`,
    details: { reason: 'rate_limited', retryAfterSeconds: decision.retryAfterSeconds },
  });

  return false;
}

// Written once the answer is sent, so that the outcome is known. A crash between the
// answer and this write loses the entry; writing it in the handler's transaction would
// close that gap but needs every route to take part.
function auditWhenAnswered(
  context: AccessContext,
  req: Request,
  res: Response,
  principal: Principal,
  match: RouteMatch,
): void {
  const action = match.permission.audit;
  if (!action) {
    return;
  }

  res.once('finish', () => {
    const note = (res.locals.audit ?? {}) as HandlerAuditNote;
    const answered = res.statusCode < 400 ? 'succeeded' : 'failed';
    appendAuditEntry(context.deps.db, {
      tenant: principal.tenant,
      actor: principal.subject,
      action,
      target: auditTarget(req, res, match),
      outcome: res.statusCode < 400 ? (note.outcome ?? answered) : answered,
      details: { ...note.details, method: req.method, path: req.path, status: res.statusCode },
    }).catch((err: unknown) => {
      context.deps.logger.error({ err, action }, 'Audit entry could not be written');
    });
  });
}

// A created resource is named by its Location or the id in its body; otherwise by the
// :id in the path.
function auditTarget(req: Request, res: Response, match: RouteMatch): string {
  if (match.params.id) {
    return safeDecode(match.params.id);
  }
  const location = res.getHeader('location');
  if (typeof location === 'string') {
    return location.split('/').pop() || req.path;
  }
  const bodyId = (req.body as { id?: unknown } | undefined)?.id;

  return typeof bodyId === 'string' ? bodyId : req.path;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
