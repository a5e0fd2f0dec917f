import { apiJson } from './api-client.js';
import { el, mono, table } from './dom.js';
import { fill, type View } from './view-kit.js';

interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  details: unknown;
}

interface PublishedKey {
  kid?: string;
  kty?: string;
  crv?: string;
  alg?: string;
  use?: string;
  status?: string;
}

// Export.Admin: the tenant's audit log, newest first (read-only).
export const auditView: View = async ({ root }) => {
  const body = el('div', { attrs: { id: 'audit' } }, ['Loading…']);
  root.replaceChildren(el('h2', {}, ['Audit log']), body);

  await fill(body, async () => {
    const { entries } = await apiJson<{ entries: AuditEntry[] }>('GET', '/export/audit?limit=200');

    return [table(['at', 'actor', 'action', 'target', 'outcome', 'details'], entries.map((e) => [
      e.at, e.actor, e.action, mono(e.target), e.outcome,
      mono(typeof e.details === 'string' ? e.details : JSON.stringify(e.details)),
    ]))];
  });
};

// Export.Admin: the tenant's published signing keys and their status (read-only; rotate and
// mark compromised with `stella export keys`). The key set is public and named by tenant in
// the query; the tenant is the one the token names.
export const keysView: View = async ({ root, claims }) => {
  const body = el('div', { attrs: { id: 'keys' } }, ['Loading…']);
  root.replaceChildren(el('h2', {}, ['Signing keys']), body);

  await fill(body, async () => {
    if (!claims.tenant) return [el('p', {}, ['The token names no tenant the console can read.'])];

    const query = new URLSearchParams({ tenant: claims.tenant });
    const { keys } = await apiJson<{ keys: PublishedKey[] }>('GET', `/export/jwks?${query}`);
    if (keys.length === 0) return [el('p', { class: 'muted' }, ['No key published yet.'])];

    return [table(['key id', 'type', 'algorithm', 'use', 'status'], keys.map((key) => [
      mono(key.kid ?? ''), [key.kty, key.crv].filter(Boolean).join(' '), key.alg ?? '',
      key.use ?? '', key.status ?? '',
    ]))];
  });
};
