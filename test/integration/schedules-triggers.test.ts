import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bundlePaths } from '../../activities/bundle-paths.js';
import type { RunView } from '../../api/run-view.js';
import { waitForRun } from '../../cli/wait-for-run.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import type { ScheduleView } from '../../schedules/export-schedules.js';
import {
  RETENTION_WORKFLOW,
  type RetentionInput,
  type RetentionResult,
} from '../../workflows/export-trigger-definitions.js';
import { runCli } from '../support/cli.js';
import { EVIDENCE, startExportStack, stellaEnv, type ExportStack } from '../support/export-stack.js';
import { insertSyntheticAdvisories } from '../support/synthetic-advisories.js';

const DAY_MS = 86_400_000;

describe('export triggers', { timeout: 300_000 }, () => {
  let stack: ExportStack;
  let cli: (args: string[], tenant?: string) => ReturnType<typeof runCli>;

  before(async () => {
    stack = await startExportStack({ workers: 1 });
    await ingestPaths(stack.db, 'events', [EVIDENCE]);
    await ingestPaths(stack.db, 'retention', [EVIDENCE]);
    await insertSyntheticAdvisories(stack.config.databaseUrl, 'sched', 60_000);
    const env = { ...stellaEnv(stack.config), STELLA_API_URL: stack.api.url };
    cli = (args, tenant = 'sched') => runCli(['--tenant', tenant, ...args], env);
  });

  after(async () => {
    await stack?.stop();
  });

  describe('schedules', () => {
    describe('when a schedule fires while its previous run still runs', () => {
      it('skips the firing, counts it, and records one run with trigger schedule', async () => {
        const created = await cli(['export', 'schedules', 'create', '--id', 'hourly', '--profile', 'prof_json_raw', '--every', '3600', '--paused', '--json']);
        assert.equal(created.code, 0, created.stderr);
        assert.equal((JSON.parse(created.stdout) as ScheduleView).overlap, 'skip');

        assert.equal((await cli(['export', 'schedules', 'trigger', 'hourly'])).code, 0);
        const first = await waitForTriggeredRun(stack, 'sched');
        const again = await cli(['export', 'schedules', 'trigger', 'hourly']);
        assert.equal(again.code, 0, again.stderr);
        const view = await waitForSchedule(stack, 'sched', 'hourly', (s) => s.skippedOverlaps > 0);
        const run = await waitForRun(stack.client('sched'), first.id, { quiet: true, intervalMs: 250 });
        const runs = await listRuns(stack, 'sched');

        assert.equal(view.skippedOverlaps, 1);
        assert.equal(run.state, 'succeeded', `${run.errorClass}: ${run.errorMessage}`);
        assert.deepEqual(runs.map((r) => r.trigger), ['schedule']);
      });
    });

    describe('pause, unpause, list and delete through the CLI', () => {
      it('returns the paused state each time and exits 4 for a deleted schedule', async () => {
        await cli(['export', 'schedules', 'create', '--id', 'nightly', '--profile', 'prof_json_raw', '--cron', '0 2 * * *', '--jitter', '30']);

        const paused = JSON.parse((await cli(['export', 'schedules', 'pause', 'nightly', '--json'])).stdout) as ScheduleView;
        const unpaused = JSON.parse((await cli(['export', 'schedules', 'unpause', 'nightly', '--json'])).stdout) as ScheduleView;
        const listed = JSON.parse((await cli(['export', 'schedules', 'list', '--json'])).stdout) as ScheduleView[];
        const deleted = await cli(['export', 'schedules', 'delete', 'nightly']);
        const gone = await cli(['export', 'schedules', 'get', 'nightly']);

        assert.equal(paused.paused, true);
        assert.equal(unpaused.paused, false);
        assert.equal(unpaused.jitterSeconds, 30);
        assert.deepEqual(listed.map((s) => s.id).sort(), ['hourly', 'nightly']);
        assert.equal(deleted.code, 0, deleted.stderr);
        assert.equal(gone.code, 4, gone.stderr);
      });
    });

    describe('when another tenant asks for a schedule', () => {
      it('exits 4 not_found', async () => {
        const result = await cli(['export', 'schedules', 'get', 'hourly'], 'other');

        assert.equal(result.code, 4, result.stderr);
      });
    });

    describe('when neither cron nor an interval is given', () => {
      it('exits 2 bad_request', async () => {
        const result = await cli(['export', 'schedules', 'create', '--id', 'never', '--profile', 'prof_json_raw']);

        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, /bad_request/);
      });
    });
  });

  describe('events', () => {
    describe('when a burst of events arrives for one profile', () => {
      it('starts one run with trigger event and records every event', async () => {
        const api = stack.client('events');
        for (let i = 0; i < 5; i++) {
          const body = { type: 'advisories.ingested', ecosystem: 'npm', profileIds: ['prof_json_raw'], debounceSeconds: 2 };
          await api.json('POST', '/export/events', body);
        }
        const run = await waitForRun(api, (await waitForTriggeredRun(stack, 'events')).id, { quiet: true });
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        const runs = await listRuns(stack, 'events');
        const audit = await stack.db.auditEntry.findFirst({ where: { tenant: 'events', target: run.id, actor: 'event' } });

        assert.equal(run.state, 'succeeded', `${run.errorClass}: ${run.errorMessage}`);
        assert.deepEqual(runs.map((r) => r.trigger), ['event']);
        assert.equal((JSON.parse(audit!.details) as { events: unknown[] }).events.length, 5);
      });
    });

    describe('when no profile subscribes to the event', () => {
      it('returns an empty delivery list', async () => {
        const result = await stack
          .client('events')
          .json<{ deliveredTo: unknown[] }>('POST', '/export/events', { type: 'vex.consensus.recomputed' });

        assert.deepEqual(result.deliveredTo, []);
      });
    });
  });

  describe('retention', () => {
    describe('when bundles are older than their profile rules', () => {
      it('prunes data, then metadata, keeps the base of a kept delta, and audits each prune', async () => {
        const api = stack.client('retention');
        const [old, base, delta, recent] = await exportMany(api, 4);
        await backdate(stack, old.id, 400);
        await backdate(stack, base.id, 40);
        await backdate(stack, delta.id, 1, { baseRunId: base.id });
        const input: RetentionInput = { tenant: 'retention', defaults: { dataDays: 30, metadataDays: 365 } };

        const result = await stack.temporalClient.client.workflow.execute(RETENTION_WORKFLOW, {
          taskQueue: stack.config.taskQueue,
          workflowId: `retention-test-${Date.now()}`,
          args: [input],
        }) as RetentionResult;
        const audit = await stack.db.auditEntry.findMany({ where: { tenant: 'retention', action: 'retention.prune' } });

        assert.deepEqual(result.prunedAll, [old.id]);
        assert.deepEqual(result.prunedData, []);
        assert.deepEqual(result.keptAsBase, [base.id]);
        assert.equal(await exists(paths(stack, old.id).final), false);
        assert.equal(await exists(paths(stack, old.id).archive), false);
        assert.deepEqual(await filesOf(paths(stack, base.id).final), await filesOf(paths(stack, recent.id).final));
        assert.deepEqual(audit.map((a) => a.target), [old.id]);
      });
    });

    describe('when the delta is pruned too', () => {
      it('removes the data of the base and keeps its manifest, provenance and signatures', async () => {
        const api = stack.client('retention');
        const [base, delta] = await exportMany(api, 2);
        await backdate(stack, base.id, 40);
        await backdate(stack, delta.id, 35, { baseRunId: base.id });
        const input: RetentionInput = { tenant: 'retention', defaults: { dataDays: 30, metadataDays: 365 } };

        const result = await stack.temporalClient.client.workflow.execute(RETENTION_WORKFLOW, {
          taskQueue: stack.config.taskQueue,
          workflowId: `retention-test-${Date.now()}`,
          args: [input],
        }) as RetentionResult;

        assert.ok(result.prunedData.includes(base.id));
        assert.ok(result.prunedData.includes(delta.id));
        assert.deepEqual(await filesOf(paths(stack, base.id).final), [
          'export.json',
          'provenance.json',
          'signatures/export.sig',
          'signatures/jwks.json',
          'signatures/provenance.dsse.json',
        ]);
        assert.equal(await exists(paths(stack, base.id).archive), false);
      });
    });
  });
});

function paths(stack: ExportStack, runId: string) {
  return bundlePaths(stack.config, { tenant: 'retention', runId });
}

async function exportMany(api: ReturnType<ExportStack['client']>, count: number): Promise<RunView[]> {
  const runs: RunView[] = [];
  for (let i = 0; i < count; i++) {
    const created = await api.json<RunView>('POST', '/export/runs', { profileId: 'prof_json_raw' });
    const run = await waitForRun(api, created.id, { quiet: true, intervalMs: 250 });
    assert.equal(run.state, 'succeeded', `${run.errorClass}: ${run.errorMessage}`);
    runs.push(run);
  }

  return runs;
}

// Retention reads the age of a bundle from finishedAt: moving it back is how a test ages it.
// The options of a real delta carry its base the same way.
async function backdate(stack: ExportStack, runId: string, days: number, options?: { baseRunId: string }) {
  await stack.db.exportRun.updateMany({
    where: { id: runId },
    data: {
      finishedAt: new Date(Date.now() - days * DAY_MS),
      ...(options ? { options: JSON.stringify(options) } : {}),
    },
  });
}

async function listRuns(stack: ExportStack, tenant: string): Promise<RunView[]> {
  return (await stack.client(tenant).json<{ runs: RunView[] }>('GET', '/export/runs')).runs;
}

async function waitForTriggeredRun(stack: ExportStack, tenant: string): Promise<RunView> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const [run] = await listRuns(stack, tenant);
    if (run) {
      return run;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no run of tenant ${tenant} appeared`);
}

async function waitForSchedule(
  stack: ExportStack,
  tenant: string,
  id: string,
  done: (view: ScheduleView) => boolean,
): Promise<ScheduleView> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const view = await stack.client(tenant).json<ScheduleView>('GET', `/export/schedules/${id}`);
    if (done(view) || Date.now() > deadline) {
      return view;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function exists(target: string): Promise<boolean> {
  return stat(target).then(
    () => true,
    () => false,
  );
}

async function filesOf(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });

  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}
