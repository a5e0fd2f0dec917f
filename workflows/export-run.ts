import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { ExportRunActivities } from '../activities/export-run-activities.js';
import {
  progressQuery,
  type ExportRunInput,
  type ExportRunProgress,
  type ExportRunResult,
} from './export-run-definitions.js';

// Failures that retrying cannot fix: the activity raised them on purpose.
const NON_RETRYABLE = [
  'bad_request',
  'not_found',
  'schema_mismatch',
  'unsupported_profile',
  'integrity_failed',
  'denied',
];

const bookkeeping = proxyActivities<ExportRunActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

const planning = proxyActivities<ExportRunActivities>({
  startToCloseTimeout: '30 minutes',
  retry: { initialInterval: '1 second', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});

// Long activities heartbeat their progress; a worker that dies is noticed within the
// heartbeat timeout and the activity resumes on another worker.
const streaming = proxyActivities<ExportRunActivities>({
  startToCloseTimeout: '4 hours',
  heartbeatTimeout: '20 seconds',
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
