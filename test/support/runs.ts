import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { extractTarZst } from '../../bundle/extract.js';
import { downloadBundle } from '../../cli/download.js';
import type { DistributionView } from '../../api/routes/distributions.js';
import type { RunView } from '../../api/run-view.js';
import { waitForRun } from '../../cli/wait-for-run.js';
import type { ExportStack } from './export-stack.js';

// Creates a run through the API (`body` as POST /export/runs takes it) and waits until it
// ends; a run that does not succeed fails the calling test with its error class.
export async function exportAndWait(
  stack: ExportStack,
  body: Record<string, unknown>,
): Promise<RunView> {
  const api = stack.client();
  const created = await api.json<RunView>('POST', '/export/runs', body);
  const view = await waitForRun(api, created.id, { quiet: true, intervalMs: 250 });
  assert.equal(view.state, 'succeeded', `${view.errorClass}: ${view.errorMessage}`);

  return view;
}

// Starts a distribution of a finished run and waits until it succeeds or fails.
export async function distributeAndWait(
  stack: ExportStack,
  runId: string,
  body: object,
): Promise<DistributionView> {
  const api = stack.client();
  const started = await api.json<DistributionView>(
    'POST',
    `/export/runs/${runId}/distribute`,
    body,
  );
  for (let i = 0; i < 600; i++) {
    const row = await api.json<DistributionView>(
      'GET',
      `/export/runs/${runId}/distributions/${started.id}`,
    );
    if (row.state === 'succeeded' || row.state === 'failed') {
      return row;
    }
    await sleep(250);
  }
  throw new Error(`distribution ${started.id} did not finish`);
}

// Creates a run and waits until it ends; a succeeded run's bundle is downloaded to
// `<dir>.tar.zst` and unpacked into `dir`. The run is returned whatever its state.
export async function exportAndUnpack(
  stack: ExportStack,
  body: Record<string, unknown>,
  dir: string,
): Promise<{ run: RunView; dir: string }> {
  const api = stack.client();
  const created = await api.json<RunView>('POST', '/export/runs', body);
  const run = await waitForRun(api, created.id, { quiet: true, intervalMs: 200 });
  if (run.state === 'succeeded') {
    await downloadBundle(api, run.id, `${dir}.tar.zst`);
    await extractTarZst(`${dir}.tar.zst`, dir);
  }

  return { run, dir };
}
