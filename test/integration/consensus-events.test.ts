import assert from 'node:assert/strict';
import { cp, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunView } from '../../api/run-view.js';
import { waitForRun } from '../../cli/wait-for-run.js';
import { runCli } from '../support/cli.js';
import { EVIDENCE, startExportStack, stellaEnv, type ExportStack } from '../support/export-stack.js';

const OPENVEX = path.join(EVIDENCE, 'vex', 'openvex');

interface TriggerProvenance {
  predicate: {
    buildDefinition: {
      externalParameters: { trigger: { type: string; source: { events: { type: string }[] } } };
    };
  };
}

// document1.vex.json (John Doe) says CVE-1234-5678 is under_investigation in
// pkg:apk/wolfi/bash@1.0.0: a consensus where there was none.
describe('stella ingest of VEX', { timeout: 240_000 }, () => {
  let stack: ExportStack;

  before(async () => {
    stack = await startExportStack();
  });

  after(async () => {
    await stack?.stop();
  });

  describe('when a profile subscribes to vex.consensus.recomputed', () => {
    it('starts one event-triggered run for a consensus change and none for a re-ingest', async () => {
      const api = stack.client();
      await api.json('POST', '/export/profiles', {
        id: 'vex-on-consensus',
        name: 'VEX on consensus change',
        kind: 'json:raw',
        config: { triggers: { events: ['vex.consensus.recomputed'] } },
      });
      const folder = await mkdtemp(path.join(os.tmpdir(), 'stella-consensus-events-'));
      await cp(path.join(OPENVEX, 'document1.vex.json'), path.join(folder, 'document1.vex.json'));

      const first = await runCli(['ingest', folder], stellaEnv(stack.config));
      assert.equal(first.code, 0, first.stderr);
      const run = await onlyRunOf(stack, 'vex-on-consensus');
      const finished = await waitForRun(api, run.id, { quiet: true, intervalMs: 250 });
      assert.equal(finished.state, 'succeeded', `${finished.errorClass}: ${finished.errorMessage}`);
      const provenance = await api.json<TriggerProvenance>(
        'GET',
        `/export/runs/${run.id}/provenance`,
      );
      const trigger = provenance.predicate.buildDefinition.externalParameters.trigger;

      const again = await runCli(['ingest', folder], stellaEnv(stack.config));
      assert.equal(again.code, 0, again.stderr);
      // Longer than the event's 10 s debounce: a run would have started by now.
      await new Promise((resolve) => setTimeout(resolve, 15_000));
      const { runs } = await api.json<{ runs: RunView[] }>(
        'GET',
        '/export/runs?profileId=vex-on-consensus',
      );

      assert.equal(finished.trigger, 'event');
      assert.deepEqual(
        trigger.source.events.map((e) => e.type),
        ['vex.consensus.recomputed'],
      );
      assert.deepEqual(
        runs.map((r) => r.id),
        [run.id],
      );
    });
  });
});

async function onlyRunOf(stack: ExportStack, profileId: string): Promise<RunView> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const { runs } = await stack
      .client()
      .json<{ runs: RunView[] }>('GET', `/export/runs?profileId=${profileId}`);
    if (runs.length > 0) {
      assert.equal(runs.length, 1);

      return runs[0];
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`no run of ${profileId} started`);
}
