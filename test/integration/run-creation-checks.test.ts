import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { insertRun } from '../../store/export-store.js';
import { runCli } from '../support/cli.js';
import { startExportStack, stellaEnv, type ExportStack } from '../support/export-stack.js';

// Run requests that could only fail later are refused at once, by the real API (Temporal
// dev server, SQLite store) and through the real CLI. No worker runs: a refused request
// must not even record a run, and the base runs are recorded directly.

const TENANT = 'checks';

describe('POST /export/runs', { timeout: 300_000 }, () => {
  let stack: ExportStack;
  let token: string;

  before(async () => {
    stack = await startExportStack({ workers: 0 });
    token = await stack.token(TENANT);
    await recordRun(stack, 'run_checks_raw_ok', 'json:raw', 'succeeded');
    await recordRun(stack, 'run_checks_mirror_failed', 'mirror:full', 'failed');
  });

  after(async () => {
    await stack?.stop();
  });

  const post = (body: unknown, contentType = 'application/json') =>
    fetch(`${stack.api.url}/export/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  const cases = [
    {
      when: 'baseRunId names no run of the tenant',
      body: { profileId: 'prof_mirror_delta', baseRunId: 'run_checks_nope' },
      status: 404, errorClass: 'not_found', message: 'run run_checks_nope not found',
    },
    {
      when: 'baseRunId names a run that is not a mirror export',
      body: { profileId: 'prof_mirror_delta', baseRunId: 'run_checks_raw_ok' },
      status: 400, errorClass: 'bad_request',
      message: 'base run run_checks_raw_ok is not a mirror export (json:raw)',
    },
    {
      when: 'baseRunId names a mirror run that failed',
      body: { profileId: 'prof_mirror_delta', baseRunId: 'run_checks_mirror_failed' },
      status: 400, errorClass: 'bad_request',
      message: 'base run run_checks_mirror_failed has no bundle (state failed)',
    },
    {
      when: 'baseRunId is given for a profile that is not mirror:delta',
      body: { profileId: 'prof_json_raw', baseRunId: 'run_checks_raw_ok' },
      status: 400, errorClass: 'bad_request',
      message: 'baseRunId applies to mirror:delta profiles only, not json:raw',
    },
    {
      when: 'policyVersion was never published',
      body: { profileId: 'prof_json_policy', policyVersion: 'pol-v9.9.9' },
      status: 404, errorClass: 'not_found', message: 'policy pol-v9.9.9 not found',
    },
    {
      when: 'policyVersion is given for a profile that is not json:policy',
      body: { profileId: 'prof_json_raw', policyVersion: 'pol-v9.9.9' },
      status: 400, errorClass: 'bad_request',
      message: 'policyVersion applies to json:policy profiles only, not json:raw',
    },
  ];
  for (const { when, body, status, errorClass, message } of cases) {
    describe(`when ${when}`, () => {
      it(`returns ${status} ${errorClass} and records no run`, async () => {
        const response = await post(body);

        assert.equal(response.status, status);
        assert.deepEqual(await response.json(), { error_class: errorClass, message });
        assert.equal(await stack.db.exportRun.count({ where: { tenant: TENANT } }), 2);
      });
    });
  }

  describe('when the body is sent without Content-Type: application/json', () => {
    it('returns 400 bad_request saying the body must be JSON', async () => {
      const response = await post(JSON.stringify({ profileId: 'prof_json_raw' }), 'text/plain');

      assert.equal(response.status, 400);
      assert.deepEqual(await response.json(), {
        error_class: 'bad_request',
        message: 'the request body must be JSON, sent with Content-Type: application/json',
      });
    });
  });

  describe('through the CLI', () => {
    const env = () => ({
      ...stellaEnv(stack.config),
      STELLA_API_URL: stack.api.url,
      STELLA_TENANT: TENANT,
    });

    describe('when mirror delta names an unknown base run', () => {
      it('returns exit 4 and the API error line', async () => {
        const args = ['mirror', 'delta', '--base', 'run_checks_nope', '--wait'];
        const result = await runCli(args, env());

        assert.equal(result.code, 4);
        assert.equal(result.stderr, 'stella: not_found: run run_checks_nope not found\n');
      });
    });

    describe('when --policy-version is given for a json:raw profile', () => {
      it('returns exit 2 and the API error line', async () => {
        const args = ['export', 'run', 'create', '--profile', 'prof_json_raw'];
        args.push('--policy-version', 'pol-v1.0.0');
        const result = await runCli(args, env());

        assert.equal(result.code, 2);
        assert.equal(
          result.stderr,
          'stella: bad_request: policyVersion applies to json:policy profiles only, not json:raw\n',
        );
      });
    });

    describe('when an idempotency key is reused for another profile', () => {
      it('returns exit 2 and the conflict error line', async () => {
        const idem = { ...env(), STELLA_TENANT: 'checks-idem' };
        const create = (profile: string) =>
          runCli(['export', 'run', 'create', '--profile', profile, '--idempotency-key', 'k'], idem);
        const first = await create('prof_json_raw');
        const second = await create('prof_trivy_db');

        assert.equal(first.code, 0, first.stderr);
        assert.equal(second.code, 2);
        assert.equal(
          second.stderr,
          'stella: conflict: Idempotency-Key was already used for a different request\n',
        );
      });
    });
  });
});

async function recordRun(stack: ExportStack, id: string, profileKind: string, state: string) {
  const profileId = profileKind === 'json:raw' ? 'prof_json_raw' : 'prof_mirror_full';
  await insertRun(stack.db, TENANT, {
    id,
    profileId,
    profileKind,
    trigger: 'api',
    state,
    filters: '{}',
    options: '{}',
    policyVersion: null,
    idempotencyKey: null,
    requestHash: id,
    workflowId: id,
    createdAt: new Date(),
  });
}
