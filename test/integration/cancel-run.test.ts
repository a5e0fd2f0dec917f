import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { bundlePaths } from '../../activities/bundle-paths.js';
import type { RunView } from '../../api/run-view.js';
import { waitForRun } from '../../cli/wait-for-run.js';
import { runCli } from '../support/cli.js';
import { startExportStack, stellaEnv, type ExportStack } from '../support/export-stack.js';
import { insertSyntheticAdvisories } from '../support/synthetic-advisories.js';

const TENANT = 'cancel';

describe('export run cancellation', { timeout: 300_000 }, () => {
  let stack: ExportStack;

  before(async () => {
    // One run at a time for the tenant, so that a second run waits in the queue.
    process.env.STELLA_MAX_RUNS_PER_TENANT = '1';
    stack = await startExportStack({ workers: 1 });
    delete process.env.STELLA_MAX_RUNS_PER_TENANT;
    await insertSyntheticAdvisories(stack.config.databaseUrl, TENANT, 150_000);
  });

  after(async () => {
    await stack?.stop();
  });

  describe('when a run waits for a slot', () => {
    it('ends cancelled through the CLI without ever starting', async () => {
      const api = stack.client(TENANT);
      const holder = await occupySlot(stack);
      const waiting = await api.json<RunView>('POST', '/export/runs', { profileId: 'prof_json_raw' });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const queued = await api.json<RunView>('GET', `/export/runs/${waiting.id}`);

      const env = { ...stellaEnv(stack.config), STELLA_API_URL: stack.api.url, STELLA_TENANT: TENANT };
      const viaCli = await runCli(['export', 'run', 'cancel', waiting.id], env);
      const ended = await waitForRun(api, waiting.id, { quiet: true, intervalMs: 250, timeoutMs: 60_000 });
      await stack.db.exportRun.delete({ where: { id: holder } });

      assert.equal(queued.state, 'queued');
      assert.equal(viaCli.code, 0, viaCli.stderr);
      assert.deepEqual([ended.state, ended.errorClass, ended.startedAt], ['cancelled', 'cancelled', null]);
    });
  });

  describe('when a run is cancelled in the middle of its write', () => {
    it('ends cancelled and leaves no bundle, archive or staging file behind', async () => {
      const api = stack.client(TENANT);
      const writing = await api.json<RunView>('POST', '/export/runs', { profileId: 'prof_json_raw' });
      await waitForWriteHeartbeat(stack, writing.id);

      await api.json('POST', `/export/runs/${writing.id}/cancel`);
      const ended = await waitForRun(api, writing.id, { quiet: true, intervalMs: 250, timeoutMs: 60_000 });

      assert.deepEqual([ended.state, ended.errorClass], ['cancelled', 'cancelled']);
      assert.deepEqual(await tenantFiles(stack), ['.staging']);
      assert.deepEqual(await stagingFiles(stack), []);
    });
  });

  describe('when a run has already ended', () => {
    it('answers 409 conflict', async () => {
      const api = stack.client(TENANT);
      const [run] = (await api.json<{ runs: RunView[] }>('GET', '/export/runs?state=cancelled')).runs;

      await assert.rejects(api.json('POST', `/export/runs/${run.id}/cancel`), { code: 'conflict' });
    });
  });
});

// A run row in an active state without a workflow: it takes the tenant's only slot.
async function occupySlot(stack: ExportStack): Promise<string> {
  const id = `run_${TENANT}_slotholder`;
  await stack.db.exportRun.create({
    data: {
      id,
      tenant: TENANT,
      profileId: 'prof_json_raw',
      profileKind: 'json:raw',
      trigger: 'api',
      state: 'writing',
      filters: '{}',
      workflowId: id,
      createdAt: new Date(),
    },
  });

  return id;
}

// Waits until the write activity has reported progress: the cancel then lands mid-write.
async function waitForWriteHeartbeat(stack: ExportStack, runId: string): Promise<void> {
  const handle = stack.temporalClient.client.workflow.getHandle(runId);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    if (pending.some((a) => a.activityType?.name === 'writeBundle' && a.heartbeatDetails)) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the write activity never heartbeated');
}

async function tenantFiles(stack: ExportStack): Promise<string[]> {
  const dir = bundlePaths(stack.config, { tenant: TENANT, runId: 'x' }).tenantDir;

  return (await readdir(dir).catch(() => [])).sort();
}

async function stagingFiles(stack: ExportStack): Promise<string[]> {
  const dir = bundlePaths(stack.config, { tenant: TENANT, runId: 'x' }).staging.replace(/\/x$/, '');

  return (await readdir(dir).catch(() => [])).sort();
}
