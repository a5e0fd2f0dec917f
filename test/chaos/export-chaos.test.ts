import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { bundlePaths } from '../../activities/bundle-paths.js';
import type { RunView } from '../../api/run-view.js';
import type { ExportManifest, ManifestFile } from '../../bundle/manifest.js';
import { waitForRun } from '../../cli/wait-for-run.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import { EVIDENCE } from '../support/export-stack.js';
import { insertSyntheticAdvisories } from '../support/synthetic-advisories.js';
import { startChaosStack, type ChaosStack } from './support/chaos-stack.js';
import { cloneSyntheticTenant } from './support/clone-tenant.js';

// The chaos suite (npm run test:chaos): three gated workers on one task queue against a real
// Temporal dev server; workers and the server are SIGKILLed at chosen moments.

const LIMITS = { perTenant: 3, perProfile: 2 };
// Phases whose activity is held at its start by the gate; the stream phase is hit mid-write.
const GATED = { plan: 'planRun', write: 'writeBundle', sign: 'signBundle', distribute: 'publishBundle' } as const;
const RECORDS = 60_000;

describe('export runs under faults', { timeout: 900_000 }, () => {
  let stack: ChaosStack;
  const reference = new Map<string, ManifestFile[]>();

  before(async () => {
    process.env.STELLA_MAX_RUNS_PER_TENANT = String(LIMITS.perTenant);
    process.env.STELLA_MAX_RUNS_PER_PROFILE = String(LIMITS.perProfile);
    process.env.STELLA_RUN_RATE_BURST = '200';
    process.env.STELLA_RUN_RATE_PER_MINUTE = '1000';
    stack = await startChaosStack({ workers: 3 });
    await insertSyntheticAdvisories(stack.config.databaseUrl, 'k-plan', RECORDS);
    for (const tenant of ['k-stream', 'k-write', 'k-sign', 'k-distribute']) {
      cloneSyntheticTenant(stack.config.databaseUrl, 'k-plan', tenant);
    }
    await Promise.all(['load-a', 'load-b'].map((tenant) => ingestPaths(stack.db, tenant, [EVIDENCE])));
  });

  after(async () => {
    await stack?.stop();
  });

  describe('when a worker is SIGKILLed in each phase', () => {
    it('completes every run once with data files byte-identical to an undisturbed run', async () => {
      const tenants = ['k-plan', 'k-stream', 'k-write', 'k-sign', 'k-distribute'];
      const undisturbed = await Promise.all(tenants.map((tenant) => exportAndWait(stack, tenant)));
      for (const run of undisturbed) {
        reference.set(run.tenant, dataFiles(await manifestOf(stack, run)));
      }
      for (const [phase, activity] of Object.entries(GATED)) {
        await stack.hold(`k-${phase}`, activity);
      }

      const runs = await Promise.all(tenants.map((tenant) => startRun(stack, tenant)));
      await Promise.all([
        ...Object.entries(GATED).map(([phase, activity]) => killAtGate(stack, `k-${phase}`, activity)),
        killMidWrite(stack, runs[1]),
      ]);
      const ended = await Promise.all(runs.map((run) => waitForEnd(stack, run)));

      for (const run of ended) {
        assert.equal(run.state, 'succeeded', `${run.tenant}: ${run.errorClass}: ${run.errorMessage}`);
        assert.deepEqual(dataFiles(await manifestOf(stack, run)), reference.get(run.tenant), run.tenant);
        assert.equal(await runCount(stack, run.tenant), 2, `${run.tenant} has one run besides the reference`);
      }
    });
  });

  describe('when a run is cancelled in each phase', () => {
    it('ends every run cancelled with no bundle, archive or staging file left', async () => {
      for (const [phase, activity] of Object.entries(GATED)) {
        await stack.hold(`k-${phase}`, activity);
      }
      const tenants = ['k-plan', 'k-write', 'k-sign', 'k-distribute'];
      const runs = await Promise.all(tenants.map((tenant) => startRun(stack, tenant)));

      await Promise.all(
        Object.entries(GATED).map(async ([phase, activity]) => {
          await stack.waitHeld(`k-${phase}`, activity);
          await cancel(stack, runs[tenants.indexOf(`k-${phase}`)]);
        }),
      );
      const streaming = await startRun(stack, 'k-stream');
      await waitForWriteProgress(stack, streaming, 1);
      await cancel(stack, streaming);
      runs.push(streaming);
      const ended = await Promise.all(runs.map((run) => waitForEnd(stack, run)));
      await Promise.all(Object.entries(GATED).map(([phase, activity]) => stack.release(`k-${phase}`, activity)));

      for (const run of ended) {
        assert.deepEqual([run.tenant, run.state, run.errorClass], [run.tenant, 'cancelled', 'cancelled']);
        assert.deepEqual(leftovers(stack, run), [], run.tenant);
      }
    });
  });

  describe('when the Temporal server is SIGKILLed mid-run and restarted on its SQLite file', () => {
    it('resumes the run to a bundle byte-identical to an undisturbed run', async () => {
      const run = await startRun(stack, 'k-write');
      await waitForWriteProgress(stack, run, 1);

      await stack.restartTemporal();
      const ended = await waitForEnd(stack, run);

      assert.equal(ended.state, 'succeeded', `${ended.errorClass}: ${ended.errorMessage}`);
      assert.deepEqual(dataFiles(await manifestOf(stack, ended)), reference.get('k-write'));
    });
  });

  describe('when 50 runs are started at once across two tenants', () => {
    it('completes all of them without exceeding the tenant and profile limits', async () => {
      await stack.client('load-a').json('POST', '/export/profiles', { id: 'raw-b', name: 'raw b', kind: 'json:raw' });
      await stack.client('load-b').json('POST', '/export/profiles', { id: 'raw-b', name: 'raw b', kind: 'json:raw' });
      const peaks = watchConcurrency(stack);

      const requests = Array.from({ length: 50 }, (_, i) => ({
        tenant: i % 2 ? 'load-b' : 'load-a',
        profileId: i % 4 < 2 ? 'prof_json_raw' : 'raw-b',
      }));
      const runs = await Promise.all(requests.map((r) => startRun(stack, r.tenant, r.profileId)));
      const ended = await waitForAll(stack, runs.map((run) => run.id));
      const peak = await peaks.stop();

      assert.equal(ended.length, 50);
      assert.deepEqual(ended.filter((r) => r.state !== 'succeeded').map((r) => `${r.id}: ${r.errorClass}`), []);
      assert.ok(peak.tenant <= LIMITS.perTenant, `tenant peak ${peak.tenant}`);
      assert.ok(peak.profile <= LIMITS.perProfile, `profile peak ${peak.profile}`);
      assert.ok(peak.tenant > 1, 'runs of one tenant did run side by side');
    });
  });

  describe('when the output folder runs out of space', { skip: !canMount() && 'mounting a tmpfs needs root' }, () => {
    it('fails with storage_full and no partial bundle, then succeeds once space is freed', async () => {
      const tenantDir = bundlePaths(stack.config, { tenant: 'k-plan', runId: 'x' }).tenantDir;
      mkdirSync(tenantDir, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', tenantDir]);
      try {
        const full = await waitForEnd(stack, await startRun(stack, 'k-plan'));
        const leftoversWhenFull = readdirSync(tenantDir, { recursive: true });
        execFileSync('mount', ['-o', 'remount,size=256m', tenantDir]);
        const retried = await waitForEnd(stack, await startRun(stack, 'k-plan'));

        assert.deepEqual([full.state, full.errorClass], ['failed', 'storage_full']);
        assert.deepEqual(leftoversWhenFull, ['.staging']);
        assert.equal(retried.state, 'succeeded', `${retried.errorClass}: ${retried.errorMessage}`);
        assert.deepEqual(dataFiles(await manifestOf(stack, retried)), reference.get('k-plan'));
      } finally {
        execFileSync('umount', [tenantDir]);
      }
    });
  });
});

async function startRun(stack: ChaosStack, tenant: string, profileId = 'prof_json_raw'): Promise<RunView> {
  return stack.client(tenant).json<RunView>('POST', '/export/runs', { profileId });
}

async function exportAndWait(stack: ChaosStack, tenant: string): Promise<RunView> {
  const run = await waitForEnd(stack, await startRun(stack, tenant));
  assert.equal(run.state, 'succeeded', `${tenant}: ${run.errorClass}: ${run.errorMessage}`);

  return run;
}

function waitForEnd(stack: ChaosStack, run: RunView, timeoutMs = 300_000): Promise<RunView> {
  return waitForRun(stack.client(run.tenant), run.id, { quiet: true, intervalMs: 250, timeoutMs });
}

// One database poll for many runs: fifty API pollers would load the two cores more than
// the runs do.
async function waitForAll(stack: ChaosStack, ids: string[]) {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const rows = await stack.db.exportRun.findMany({ where: { id: { in: ids } } });
    const ended = rows.filter((row) => ['succeeded', 'failed', 'cancelled'].includes(row.state));
    if (ended.length === ids.length || Date.now() > deadline) {
      return ended;
    }
    await sleep(500);
  }
}

async function cancel(stack: ChaosStack, run: RunView): Promise<void> {
  await stack.client(run.tenant).json('POST', `/export/runs/${run.id}/cancel`);
}

// Holds the tenant's run at the gate, kills whichever worker holds it, then lets the retry
// on another worker through.
async function killAtGate(stack: ChaosStack, tenant: string, activity: string): Promise<void> {
  const pid = await stack.waitHeld(tenant, activity);
  await stack.killWorker(pid);
  await stack.release(tenant, activity);
}

async function killMidWrite(stack: ChaosStack, run: RunView): Promise<void> {
  const identity = await waitForWriteProgress(stack, run, 1);
  await stack.killWorker(Number(identity.split('@')[0]));
}

// Waits until the write activity reports at least `records` records; returns the identity
// (pid@host) of the worker running it.
async function waitForWriteProgress(stack: ChaosStack, run: RunView, records: number): Promise<string> {
  const handle = stack.temporalClient.client.workflow.getHandle(run.id);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    const writing = pending.find((a) => a.activityType?.name === 'writeBundle' && a.heartbeatDetails);
    const payload = writing?.heartbeatDetails?.payloads?.[0]?.data;
    const details = payload ? (JSON.parse(Buffer.from(payload).toString('utf8')) as { progress?: { records: number } }) : undefined;
    if (writing && (details?.progress?.records ?? 0) >= records) {
      return writing.lastWorkerIdentity ?? '';
    }
    await sleep(50);
  }
  throw new Error(`the write of ${run.id} never reached ${records} records`);
}

async function manifestOf(stack: ChaosStack, run: RunView): Promise<ExportManifest> {
  return stack.client(run.tenant).json<ExportManifest>('GET', `/export/runs/${run.id}/manifest`);
}

// Everything but provenance.json, which names its run.
function dataFiles(manifest: ExportManifest): ManifestFile[] {
  return manifest.files.filter((f) => f.path !== 'provenance.json');
}

async function runCount(stack: ChaosStack, tenant: string): Promise<number> {
  return stack.db.exportRun.count({ where: { tenant } });
}

function leftovers(stack: ChaosStack, run: RunView): string[] {
  const paths = bundlePaths(stack.config, { tenant: run.tenant, runId: run.id });
  const tenantEntries = readdirSync(paths.tenantDir).filter((name) => name.includes(run.id));
  const stagingEntries = readdirSync(`${paths.tenantDir}/.staging`).filter((name) => name.includes(run.id));

  return [...tenantEntries, ...stagingEntries];
}

// Samples the active runs per tenant and per profile every 100 ms, keeping the peaks.
function watchConcurrency(stack: ChaosStack) {
  const peak = { tenant: 0, profile: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const groups = await stack.db.exportRun.groupBy({
        by: ['tenant', 'profileId'],
        where: { state: { in: ['planning', 'writing', 'signing', 'distributing'] } },
        _count: { _all: true },
      });
      const perTenant = new Map<string, number>();
      for (const group of groups) {
        peak.profile = Math.max(peak.profile, group._count._all);
        perTenant.set(group.tenant, (perTenant.get(group.tenant) ?? 0) + group._count._all);
      }
      peak.tenant = Math.max(peak.tenant, ...perTenant.values(), 0);
      await sleep(100);
    }
  })();

  return {
    stop: async () => {
      running = false;
      await loop;

      return peak;
    },
  };
}

function canMount(): boolean {
  return process.getuid?.() === 0;
}
