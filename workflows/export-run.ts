import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { ExportRunActivities } from '../activities/export-run-activities.js';
import { NON_RETRYABLE_CLASSES } from '../domain/errors.js';
import type { RunSlotActivities } from '../activities/run-slot-activities.js';
import {
  progressQuery,
  type ExportRunInput,
  type ExportRunProgress,
  type ExportRunResult,
} from './export-run-definitions.js';

// Failures the activities raise on purpose are not retried (domain/errors.ts). A full disk
// fails the run at once; abandonRun frees its staging space (docs/operations/).
const NON_RETRYABLE = [...NON_RETRYABLE_CLASSES];

// A phase activity that is asked to stop is waited for until it has stopped (it notices at
// its next heartbeat), so abandonRun never cleans up beside an activity still writing.
const UNTIL_STOPPED = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED;

const bookkeeping = proxyActivities<ExportRunActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

// The queue: a run whose tenant or profile is at its limit fails to claim a slot with a
// retryable error, and retries with backoff, without limit, until a slot frees up or the run
// is cancelled. Retries add no history events, so a long wait costs nothing.
const queueing = proxyActivities<RunSlotActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 1.5, maximumInterval: '5 seconds' },
});

// A heartbeat timeout on planning and signing lets a dead worker be noticed in seconds, not
// at the start-to-close timeout. planRun and signBundle heartbeat while they work (keepAlive);
// one blocking SQLite statement longer than the timeout still fails the attempt and is retried.
const planning = proxyActivities<ExportRunActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  cancellationType: UNTIL_STOPPED,
  retry: { initialInterval: '1 second', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});

// Long activities heartbeat their progress; a worker that dies is noticed within the
// heartbeat timeout and the activity resumes on another worker.
const streaming = proxyActivities<ExportRunActivities>({
  startToCloseTimeout: '4 hours',
  heartbeatTimeout: '20 seconds',
  cancellationType: UNTIL_STOPPED,
  retry: {
    initialInterval: '1 second',
    maximumInterval: '1 minute',
    maximumAttempts: 8,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

export async function exportRunWorkflow(input: ExportRunInput): Promise<ExportRunResult> {
  const progress: ExportRunProgress = { phase: 'queued' };
  setHandler(progressQuery, () => progress);

  try {
    return await runPhases(input, progress);
  } catch (err) {
    await settleFailure(input, progress, err);
    throw err;
  }
}

async function runPhases(
  input: ExportRunInput,
  progress: ExportRunProgress,
): Promise<ExportRunResult> {
  const enter = async (phase: ExportRunProgress['phase']) => {
    progress.phase = phase;
    await bookkeeping.recordRunState({ ...input, state: phase });
  };

  await queueing.acquireRunSlot(input);
  await enter('planning');
  const counts = await planning.planRun(input);
  progress.counts = counts;

  await enter('writing');
  await streaming.writeBundle(input);

  await enter('signing');
  await planning.signBundle(input);

  await enter('distributing');
  const published = await streaming.publishBundle(input);

  progress.phase = 'succeeded';
  log.info('Export run succeeded', { runId: input.runId });

  return { runId: input.runId, counts, ...published };
}

async function settleFailure(input: ExportRunInput, progress: ExportRunProgress, err: unknown) {
  const cancelled = isCancellation(err);
  const errorClass = cancelled ? 'cancelled' : failureType(err);
  progress.phase = cancelled ? 'cancelled' : 'failed';
  progress.errorClass = errorClass;
  log.warn('Export run ended without a bundle', { runId: input.runId, errorClass });

  // Cleanup must run even though the workflow itself is being cancelled.
  await CancellationScope.nonCancellable(() =>
    bookkeeping.abandonRun({
      ...input,
      state: cancelled ? 'cancelled' : 'failed',
      errorClass,
      errorMessage: failureMessage(err),
    }),
  );
}

function failureType(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type) {
    return cause.type;
  }

  return 'export_failed';
}

function failureMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;

  return cause instanceof Error ? cause.message : String(cause);
}
