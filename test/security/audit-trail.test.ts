import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bundlePaths } from '../../activities/bundle-paths.js';
import { UNAUTHENTICATED_AUDIT_TENANT } from '../../api/auth/access-control.js';
import { newRunId } from '../../platform/ids.js';
import { FIXTURES } from '../support/export-stack.js';
import { startSecurityApp, type SecurityApp } from './security-app.js';

// Each audited action once, through the real API and access layer, then the audit table
// read back: the entry must be there whatever the action's own outcome (without Temporal a
// run create answers 503 and is audited as failed). The security app has no Temporal.

const TENANT = 'audit';

interface Entry {
  tenant: string;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  details: string;
}

describe('audit trail', { timeout: 120_000 }, () => {
  let app: SecurityApp;
  let admin: string;

  before(async () => {
    app = await startSecurityApp();
    admin = await app.token(TENANT, ['Export.Admin']);
  });

  after(async () => {
    await app?.stop();
  });

  async function entriesOf(action: string, tenant = TENANT): Promise<Entry[]> {
    // Route entries are written once the answer has gone out: wait for them briefly.
    for (let attempt = 0; attempt < 50; attempt++) {
      const rows = await app.db.auditEntry.findMany({ where: { tenant, action }, orderBy: { at: 'asc' } });
      if (rows.length > 0) return rows;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    return [];
  }

  describe('an audited action', () => {
    const actions = [
      { action: 'profile.create', method: 'POST', target: '/export/profiles', body: { id: 'p1', name: 'P', kind: 'json:raw' } },
      { action: 'profile.update', method: 'PATCH', target: '/export/profiles/p1', body: { name: 'P2' } },
      { action: 'run.create', method: 'POST', target: '/export/runs', body: { profileId: 'p1' } },
      { action: 'run.cancel', method: 'POST', target: '/export/runs/run_none/cancel', body: {} },
      { action: 'run.distribute', method: 'POST', target: '/export/runs/run_none/distribute', body: {} },
      { action: 'key.change', method: 'POST', target: '/export/keys/rotate', body: {} },
      { action: 'profile.delete', method: 'DELETE', target: '/export/profiles/p1' },
    ];
    for (const { action, method, target, body } of actions) {
      describe(`when an Admin calls ${method} ${target}`, () => {
        it(`returns an ${action} entry naming the actor`, async () => {
          const json = body === undefined ? undefined : JSON.stringify(body);
          await app.call(method, target, { token: admin, body: json });
          const [entry] = await entriesOf(action);

          assert.ok(entry, `no ${action} entry`);
          assert.equal(entry.actor, `${TENANT}-user`);
          assert.match(entry.outcome, /^(succeeded|failed)$/);
        });
      });
    }

    describe('when an Admin publishes a policy', () => {
      it('returns a policy.change entry that succeeded', async () => {
        const document = await readFile(path.join(FIXTURES, 'policies', 'pol-v1.0.0.yaml'), 'utf8');
        const answer = await app.call('POST', '/export/policies', {
          token: admin,
          headers: { 'content-type': 'application/yaml' },
          body: document,
        });
        const [entry] = await entriesOf('policy.change');

        assert.equal(answer.status, 201);
        assert.equal(entry?.outcome, 'succeeded');
      });
    });
  });

  describe('server-side verify', () => {
    describe('when the stored bundle of a succeeded run is broken', () => {
      it('returns a bundle.verify entry that failed, with the failure count', async () => {
        const runId = await seedSucceededRun(app);
        const answer = await app.call('POST', `/export/runs/${runId}/verify`, { token: admin, body: '{}' });
        const [entry] = await entriesOf('bundle.verify');

        assert.equal(answer.status, 200);
        assert.equal(answer.body.ok, false);
        assert.equal(entry?.target, runId);
        assert.equal(entry?.outcome, 'failed');
        assert.deepEqual(
          { ok: JSON.parse(entry.details).ok, failures: JSON.parse(entry.details).failures > 0 },
          { ok: false, failures: true },
        );
      });
    });
  });

  describe('a request without a valid token', () => {
    describe('when it carries no token, then a forged one', () => {
      it('returns 401 and writes access.denied entries for anonymous with the reason code', async () => {
        const missing = await app.call('GET', '/export/runs');
        const forged = await app.call('GET', '/export/runs', { token: 'a.b.c' });
        const entries = await entriesOf('access.denied', UNAUTHENTICATED_AUDIT_TENANT);

        assert.deepEqual([missing.status, forged.status], [401, 401]);
        assert.deepEqual(
          entries.map((e) => [e.actor, e.outcome, e.target, JSON.parse(e.details).reason]),
          [
            ['anonymous', 'denied', 'GET /export/runs', 'missing_token'],
            ['anonymous', 'denied', 'GET /export/runs', 'malformed_token'],
          ],
        );
      });
    });
  });
});

async function seedSucceededRun(app: SecurityApp): Promise<string> {
  const runId = newRunId(TENANT);
  await app.db.exportRun.create({
    data: {
      id: runId,
      tenant: TENANT,
      profileId: 'p-verify',
      profileKind: 'json:raw',
      trigger: 'api',
      state: 'succeeded',
      filters: '{}',
      workflowId: runId,
      createdAt: new Date(),
    },
  });
  // An empty bundle folder: no export.json, so verification fails.
  await mkdir(bundlePaths(app.config, { tenant: TENANT, runId }).final, { recursive: true });

  return runId;
}
