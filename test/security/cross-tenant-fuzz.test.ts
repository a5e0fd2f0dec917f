import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { newRunId } from '../../platform/ids.js';
import { appendAuditEntry } from '../../store/audit-store.js';
import { createProfile } from '../../store/export-store.js';
import { startSecurityApp, type SecurityApp } from './security-app.js';

// Strings that exist only in the victim tenant's rows: no answer to the attacker may
// contain one, whatever the attacker sends.
const VICTIM = 'globex';
const ATTACKER = 'acme';
const MARKERS = ['GLOBEX-PROFILE-7f3a', 'GLOBEX-RUN-ERROR-91bc', 'GLOBEX-AUDIT-2d44'];

describe('tenant isolation under random requests', { timeout: 180_000 }, () => {
  let app: SecurityApp;
  let victimRunId: string;
  let attackerToken: string;
  let victimRowsBefore: string;

  before(async () => {
    app = await startSecurityApp();
    victimRunId = await seedVictim(app);
    attackerToken = await app.token(ATTACKER, ['Export.Admin']);
    victimRowsBefore = await victimRows(app);
  });

  after(async () => {
    await app?.stop();
  });

  describe('any method, path, id, query, header and body from another tenant', () => {
    it('returns no byte of the victim tenant and changes none of its rows', async () => {
      await fc.assert(
        fc.asyncProperty(
          attackArbitrary(() => victimRunId),
          async (attack) => {
            const answer = await app.call(attack.method, attack.path, {
              token: attackerToken,
              headers: attack.headers,
              body: attack.body,
            });
            const echoed = `${attack.path} ${attack.body ?? ''}`;

            for (const marker of MARKERS) {
              assert.ok(
                !answer.text.includes(marker),
                `${attack.method} ${attack.path} leaked ${marker}`,
              );
            }
            if (!echoed.includes(victimRunId)) {
              assert.ok(
                !answer.text.includes(victimRunId),
                `${attack.method} ${attack.path} leaked the run id`,
              );
            }
            assert.ok(answer.status !== 200 || !answer.text.includes(`"tenant":"${VICTIM}"`));
          },
        ),
        { numRuns: 300, seed: 20261204 },
      );

      assert.equal(await victimRows(app), victimRowsBefore);
    });
  });

  describe('metrics after the attack', () => {
    it('returns no tenant name in any label', async () => {
      const metrics = await app.call('GET', '/metrics');

      assert.equal(metrics.status, 200);
      assert.ok(!metrics.text.includes(VICTIM));
      assert.ok(!metrics.text.includes(ATTACKER));
    });
  });
});

async function seedVictim(app: SecurityApp): Promise<string> {
  await createProfile(app.db, VICTIM, {
    id: 'globex-only',
    name: MARKERS[0],
    kind: 'json:raw',
    config: { description: MARKERS[0] },
  });
  const runId = newRunId(VICTIM);
  await app.db.exportRun.create({
    data: {
      id: runId,
      tenant: VICTIM,
      profileId: 'globex-only',
      profileKind: 'json:raw',
      trigger: 'api',
      state: 'failed',
      filters: '{}',
      workflowId: runId,
      idempotencyKey: 'globex-key',
      errorClass: 'export_failed',
      errorMessage: MARKERS[1],
      createdAt: new Date(),
    },
  });
  await appendAuditEntry(app.db, {
    tenant: VICTIM,
    actor: MARKERS[2],
    action: 'run.create',
    target: runId,
    outcome: 'succeeded',
  });

  return runId;
}

async function victimRows(app: SecurityApp): Promise<string> {
  const where = { tenant: VICTIM };
  const rows = {
    profiles: await app.db.exportProfile.findMany({ where, orderBy: { id: 'asc' } }),
    runs: await app.db.exportRun.findMany({ where, orderBy: { id: 'asc' } }),
    audit: await app.db.auditEntry.findMany({ where, orderBy: { id: 'asc' } }),
  };

  return JSON.stringify(rows, (_key, value: unknown) =>
    typeof value === 'bigint' ? String(value) : value,
  );
}

interface Attack {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

function attackArbitrary(victimRunId: () => string): fc.Arbitrary<Attack> {
  const id = fc.oneof(
    fc.constant(victimRunId()),
    fc.constant('globex-only'),
    fc.constant(encodeURIComponent(`../${VICTIM}/${victimRunId()}`)),
    fc.constant(`run_${VICTIM}_..%2F..%2F`),
    fc.constantFrom('prof_json_raw', '%2e%2e', '..', 'run_acme_0', '*', '%00'),
    fc.stringMatching(/^[a-z0-9_.%-]{1,40}$/),
  );
  const path = fc.oneof(
    fc
      .tuple(
        id,
        fc.constantFrom(
          '',
          '/download',
          '/manifest',
          '/provenance',
          '/signatures',
          '/cancel',
          '/distributions',
        ),
      )
      .map(([runId, suffix]) => `/export/runs/${runId}${suffix}`),
    id.map((profileId) => `/export/profiles/${profileId}`),
    query().map((q) => `/export/runs?${q}`),
    query().map((q) => `/export/profiles?${q}`),
    query().map((q) => `/export/audit?${q}`),
  );
  const headers = fc.dictionary(
    fc.constantFrom(
      'x-stella-tenant',
      'x-tenant',
      'x-forwarded-for',
      'idempotency-key',
      'x-original-url',
    ),
    fc.oneof(
      fc.constant(VICTIM),
      fc.constant('globex-key'),
      fc.constant(`/export/runs/${victimRunId()}`),
    ),
  );
  const body = fc.option(
    fc
      .record(
        {
          profileId: fc.constantFrom('globex-only', 'prof_json_raw'),
          baseRunId: fc.constant(victimRunId()),
          id: fc.constantFrom('globex-only', 'copy'),
          name: fc.string({ maxLength: 20 }),
          kind: fc.constant('json:raw'),
          tenant: fc.constant(VICTIM),
        },
        { requiredKeys: [] },
      )
      .map((value) => JSON.stringify(value)),
    { nil: undefined },
  );

  return fc
    .record({
      method: fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'HEAD'),
      path,
      headers,
      body,
    })
    .map((attack) => ({
      ...attack,
      body: attack.method === 'GET' || attack.method === 'HEAD' ? undefined : attack.body,
    }));
}

function query(): fc.Arbitrary<string> {
  return fc
    .dictionary(
      fc.constantFrom('tenant', 'profileId', 'state', 'limit', 'action', 'kind', 'createdAfter'),
      fc.constantFrom(
        VICTIM,
        'globex-only',
        'failed',
        '500',
        'run.create',
        'json',
        '1970-01-01T00:00:00Z',
      ),
    )
    .map((entries) => new URLSearchParams(entries).toString());
}
