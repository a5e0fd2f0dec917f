import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunView } from '../../../api/run-view.js';
import { failUnlessSucceeded } from '../../../cli/wait-for-run.js';
import { isStellaError } from '../../../domain/errors.js';
import { runCli } from '../../support/cli.js';
import { sendJson, startStubApi, type StubApi } from '../../support/stub-api.js';

// The real CLI against a stub API on 127.0.0.1 whose run goes planning → failed, the way a
// delta on a wrong base used to end: every --wait path must say why, once.

const FAILED_REASON = 'base run run_base is not a mirror export';

function runAt(state: string, extra: Partial<RunView> = {}): Partial<RunView> {
  return { id: 'run_1', state, phase: state, errorClass: null, errorMessage: null, ...extra };
}

describe('stella --wait', { timeout: 60_000 }, () => {
  let stub: StubApi;
  let polls = 0;

  before(async () => {
    stub = await startStubApi({
      'POST /export/runs': (_request, response) => sendJson(response, 202, runAt('queued')),
      'GET /export/runs/run_1': (_request, response) => {
        polls += 1;
        const failed = runAt('failed', { errorClass: 'bad_request', errorMessage: FAILED_REASON });
        sendJson(response, 200, polls % 2 === 1 ? runAt('planning') : failed);
      },
    });
  });

  after(async () => {
    await stub?.close();
  });

  const env = () => ({ ...process.env, STELLA_API_URL: stub.url, STELLA_TOKEN: 'stub' });
  const expectedError =
    `stella: export_failed: run run_1 ended failed: bad_request: ${FAILED_REASON}\n`;

  describe('mirror delta', () => {
    describe('when the run fails', () => {
      it('returns exit 8, the final state once on stdout and the run error on stderr', async () => {
        const result = await runCli(['mirror', 'delta', '--base', 'run_base', '--wait'], env());

        assert.equal(result.code, 8);
        assert.equal(result.stdout, 'run run_1: failed\n');
        assert.equal(result.stderr, `run run_1: planning\n${expectedError}`);
      });
    });
  });

  describe('export run create', () => {
    describe('when the run fails', () => {
      it('returns exit 8 and the same error line as mirror delta', async () => {
        const args = ['export', 'run', 'create', '--profile', 'prof_json_raw', '--wait'];
        const result = await runCli(args, env());

        assert.equal(result.code, 8);
        assert.equal(result.stderr, `run run_1: planning\n${expectedError}`);
        assert.match(result.stdout, /^run run_1: failed/m);
      });
    });
  });

  describe('mirror delta with --json', () => {
    describe('when the run fails', () => {
      it('returns exit 8 and one JSON error naming the run error', async () => {
        const args = ['--json', 'mirror', 'delta', '--base', 'run_base', '--wait'];
        const result = await runCli(args, env());

        assert.equal(result.code, 8);
        assert.equal(JSON.parse(result.stdout).state, 'failed');
        assert.deepEqual(JSON.parse(result.stderr), {
          error_class: 'export_failed',
          message: `run run_1 ended failed: bad_request: ${FAILED_REASON}`,
        });
      });
    });
  });
});

describe('failUnlessSucceeded', () => {
  describe('when the run ended storage_full', () => {
    it('throws storage_full with the run message', () => {
      const full = { errorClass: 'storage_full', errorMessage: 'disk full' };
      const view = runAt('failed', full) as RunView;

      assert.throws(
        () => failUnlessSucceeded(view, true),
        (err) => isStellaError(err) && err.code === 'storage_full'
          && err.message === 'run run_1 ended failed: storage_full: disk full',
      );
    });
  });

  describe('when the command did not wait', () => {
    it('returns without throwing for a queued run', () => {
      assert.equal(failUnlessSucceeded(runAt('queued') as RunView, false), undefined);
    });
  });
});
