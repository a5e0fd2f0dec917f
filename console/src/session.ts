// The bearer token lives in sessionStorage only: gone when the tab closes, never in a URL,
// a cookie or a log line.

const TOKEN_KEY = 'stella.console.token';

export const ROLES = ['Export.Viewer', 'Export.Operator', 'Export.Admin'] as const;

export type Role = (typeof ROLES)[number];

export interface SessionClaims {
  tenant?: string;
  subject?: string;
  roles: Role[];
  expiresAt?: Date;
}

export function readToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function saveToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
}

export function clearToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

// What the token says about its holder, for showing and hiding views only: the API checks
// the signature and the roles on every call. Claim names are the local issuer's (`tenant`,
// `roles`); an identity provider configured with other names (STELLA_AUTH_*_CLAIM) leaves
// the roles empty here, and then every view is offered and the API answers `denied`.
export function claimsOf(token: string): SessionClaims {
  const payload = decodePayload(token);
  const roles = Array.isArray(payload.roles)
    ? payload.roles.filter((role): role is Role => (ROLES as readonly unknown[]).includes(role))
    : [];

  return {
    tenant: typeof payload.tenant === 'string' ? payload.tenant : undefined,
    subject: typeof payload.sub === 'string' ? payload.sub : undefined,
    roles,
    expiresAt: typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : undefined,
  };
}

function decodePayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  if (!part) return {};

  try {
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const decoded: unknown = JSON.parse(atob(base64));

    const isObject = typeof decoded === 'object' && decoded !== null;

    return isObject ? (decoded as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

// True when the token holds `required` or a stronger role, or names no roles the console
// can read (the API then decides).
export function mayUse(claims: SessionClaims, required: Role): boolean {
  if (claims.roles.length === 0) return true;

  return claims.roles.some((role) => ROLES.indexOf(role) >= ROLES.indexOf(required));
}
