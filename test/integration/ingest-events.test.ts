import assert from 'node:assert/strict';
import { cp, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunView } from '../../api/run-view.js';
import { waitForRun } from '../../cli/wait-for-run.js';
import { runCli } from '../support/cli.js';
import { EVIDENCE, startExportStack, stellaEnv, type ExportStack } from '../support/export-stack.js';

describe('stella ingest', { timeout: 240_000 }, () => {
  let stack: ExportStack;

  before(async () => {
    stack = await startExportStack();
  });

  after(async () => {
    await stack?.stop();
  });

  describe('when new npm advisories arrive for a profile subscribed to advisories.ingested', () => {
    it('starts one event-triggered run whose provenance names the events', async () => {
      const api = stack.client();
      await api.json('POST', '/export/profiles', {
        id: 'npm-on-ingest',
        name: 'npm advisories on ingest',
        kind: 'json:raw',
        config: { filters: { ecosystems: ['npm'] }, triggers: { events: ['advisories.ingested'] } },
      });
      const folder = await mkdtemp(path.join(os.tmpdir(), 'stella-ingest-events-'));
      await cp(path.join(EVIDENCE, 'advisories', 'osv', 'ghsa', 'npm'), folder, { recursive: true });

      const ingest = await runCli(['ingest', folder], stellaEnv(stack.config));
      assert.equal(ingest.code, 0, ingest.stderr);

      const run = await firstRunOf(stack, 'npm-on-ingest');
      const finished = await waitForRun(api, run.id, { quiet: true, intervalMs: 250 });
      assert.equal(finished.state, 'succeeded', `${finished.errorClass}: ${finished.errorMessage}`);
      assert.equal(finished.trigger, 'event');
      const provenance = await api.json<{
        predicate: { buildDefinition: { externalParameters: { trigger: { type: string; source: { events: { type: string; ecosystem?: string }[] } } } } };
      }>('GET', `/export/runs/${run.id}/provenance`);
      const trigger = provenance.predicate.buildDefinition.externalParameters.trigger;
      assert.equal(trigger.type, 'event');
      assert.deepEqual(
        trigger.source.events.map((e) => [e.type, e.ecosystem]),
        [['advisories.ingested', 'npm']],
      );
    });
  });
});

async function firstRunOf(stack: ExportStack, profileId: string): Promise<RunView> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const { runs } = await stack.client().json<{ runs: RunView[] }>('GET', `/export/runs?profileId=${profileId}`);
    if (runs.length > 0) {
      assert.equal(runs.length, 1);

      return runs[0];
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`no run of ${profileId} started`);
}
