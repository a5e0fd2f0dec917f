import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunView } from '../../api/run-view.js';
import { waitForRun } from '../../cli/wait-for-run.js';
import type { ExportManifest } from '../../bundle/manifest.js';
import { startExportStack, type ExportStack } from '../support/export-stack.js';
import { insertSyntheticAdvisories } from '../support/synthetic-advisories.js';

const RECORDS = 250_000;

describe('export run workflow', { timeout: 600_000 }, () => {
  let stack: ExportStack;

  before(async () => {
    stack = await startExportStack({ workers: 1 });
    await insertSyntheticAdvisories(stack.config.databaseUrl, 'crash', RECORDS);
  });

  after(async () => {
    await stack?.stop();
  });

  describe('when the worker is SIGKILLed in the middle of the write activity', () => {
    it('completes on a new worker with files byte-identical to an uninterrupted run', async () => {
      const api = stack.client('crash');
      const reference = await runToEnd(stack, api);

      const created = await api.json<RunView>('POST', '/export/runs', { profileId: 'prof_json_raw' });
      await waitForWriteHeartbeat(stack, created.id);
      stack.workers[0].kill('SIGKILL');
      await stack.startWorker();
      const resumed = await waitForRun(api, created.id, { quiet: true, intervalMs: 250 });

      assert.equal(resumed.state, 'succeeded', `${resumed.errorClass}: ${resumed.errorMessage}`);
      const [a, b] = [await manifestOf(api, reference.id), await manifestOf(api, resumed.id)];
      const dataFiles = (m: ExportManifest) => m.files.filter((f) => f.path !== 'provenance.json');
      assert.deepEqual(dataFiles(b), dataFiles(a));
      assert.equal(a.counts.advisories, RECORDS);
    });
  });
});

async function runToEnd(stack: ExportStack, api: ReturnType<ExportStack['client']>): Promise<RunView> {
  const created = await api.json<RunView>('POST', '/export/runs', { profileId: 'prof_json_raw' });
  const run = await waitForRun(api, created.id, { quiet: true, intervalMs: 250 });
  assert.equal(run.state, 'succeeded', `${run.errorClass}: ${run.errorMessage}`);

  return run;
}

// Waits until the write activity has reported progress: the kill then lands mid-write.
async function waitForWriteHeartbeat(stack: ExportStack, runId: string): Promise<void> {
  const handle = stack.temporalClient.client.workflow.getHandle(runId);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const description = await handle.describe();
    const pending = description.raw.pendingActivities ?? [];
    const writing = pending.find((a) => a.activityType?.name === 'writeBundle' && a.heartbeatDetails);
    if (writing) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the write activity never heartbeated');
}

async function manifestOf(api: ReturnType<ExportStack['client']>, runId: string): Promise<ExportManifest> {
  return api.json<ExportManifest>('GET', `/export/runs/${runId}/manifest`);
}
