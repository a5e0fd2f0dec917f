import cliProgress from 'cli-progress';
import type { RunView } from '../api/run-view.js';
import { StellaError } from '../domain/errors.js';
import type { ApiClient } from './api-client.js';

const PHASES = ['queued', 'planning', 'writing', 'signing', 'distributing', 'succeeded'];
const TERMINAL = ['succeeded', 'failed', 'cancelled'];

// Polls a run until it ends, showing its phase: a progress bar on a terminal, one line per
// phase change otherwise (CI logs). Returns the final run.
export async function waitForRun(
  api: ApiClient,
  runId: string,
  options: { quiet?: boolean; intervalMs?: number; timeoutMs?: number } = {},
): Promise<RunView> {
  const show = options.quiet ? undefined : phaseDisplay();
  const deadline = Date.now() + (options.timeoutMs ?? 60 * 60_000);
  for (;;) {
    const run = await api.json<RunView>('GET', `/export/runs/${runId}`);
    show?.update(run);
    if (TERMINAL.includes(run.state)) {
      show?.stop();

      return run;
    }
    if (Date.now() > deadline) {
      show?.stop();

      return run;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
  }
}

// Every `--wait` command ends here: a run that did not succeed becomes the CLI's error,
// naming the run's own error class and message, so the user sees why and gets exit 8
// (or the class's own code for a schema mismatch or a full disk).
export function failUnlessSucceeded(view: RunView, waited: boolean | undefined): void {
  if (!waited || view.state === 'succeeded') {
    return;
  }
  const reason = view.errorClass
    ? `: ${view.errorClass}: ${view.errorMessage ?? 'no message'}`
    : '';

  throw new StellaError(cliClassOf(view.errorClass), `run ${view.id} ended ${view.state}${reason}`);
}

function cliClassOf(runClass: string | null | undefined) {
  return runClass === 'schema_mismatch' || runClass === 'storage_full' ? runClass : 'export_failed';
}

// The final state is printed once, by the command's own output; the display shows only
// the phases on the way there.
function phaseDisplay() {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: 'export {bar} {phase}', stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(PHASES.length - 1, 0, { phase: 'queued' });

    return {
      update: (run: RunView) => bar.update(Math.max(0, PHASES.indexOf(run.phase)), { phase: run.phase }),
      stop: () => bar.stop(),
    };
  }
  let last = '';

  return {
    update: (run: RunView) => {
      if (run.phase !== last && !TERMINAL.includes(run.state)) {
        last = run.phase;
        process.stderr.write(`run ${run.id}: ${run.phase}\n`);
      }
    },
    stop: () => undefined,
  };
}
