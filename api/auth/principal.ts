import type { Request } from 'express';
import type { Principal } from './token-verifier.js';

// The verified caller of a request, attached by the access layer. Kept beside the request
// rather than on it, so no header, query or body field can ever pose as it.
const principals = new WeakMap<Request, Principal>();

export function attachPrincipal(req: Request, principal: Principal): void {
  principals.set(req, principal);
}

export function principalOf(req: Request): Principal | undefined {
  return principals.get(req);
}
