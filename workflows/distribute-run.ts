import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  proxyActivities,
} from '@temporalio/workflow';
import type { DistributionActivities } from '../activities/distribution-activities.js';
import type {
  DistributeRunInput,
  DistributionOutcome,
} from '../distribution/distribution-request.js';

// Failures another attempt cannot fix: refused credentials, a bad target, a bundle that is
// not there or does not match.
const NON_RETRYABLE = [
  'bad_request',
  'denied',
  'not_found',
  'unsupported_profile',
  'integrity_failed',
  'cancelled',
];

const bookkeeping = proxyActivities<DistributionActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

// Each attempt resumes: blobs and objects already in place are skipped, open uploads are
// continued. Engines retry a few seconds on their own first; this policy covers longer
// outages of the registry or the bucket.
const pushing = proxyActivities<DistributionActivities>({
  startToCloseTimeout: '4 hours',
  heartbeatTimeout: '2 minutes',
  retry: {
    initialInterval: '5 seconds',
    maximumInterval: '2 minutes',
    maximumAttempts: 6,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

// A workflow of its own, apart from the export run: a failed distribution leaves the export
// untouched and can be started again for the same target.
export async function distributeRunWorkflow(
  input: DistributeRunInput,
): Promise<DistributionOutcome> {
  await bookkeeping.recordDistribution({
    tenant: input.tenant,
    distributionId: input.distributionId,
    state: 'running',
  });
  try {
    return await pushing.distributeBundle(input);
  } catch (err) {
    const errorClass = isCancellation(err) ? 'cancelled' : failureType(err);
    log.warn('Distribution failed', { distributionId: input.distributionId, errorClass });
    await CancellationScope.nonCancellable(() =>
      bookkeeping.recordDistribution({
        tenant: input.tenant,
        distributionId: input.distributionId,
        state: 'failed',
        errorClass,
        errorMessage: failureMessage(err),
      }),
    );
    throw err;
  }
}

function failureType(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;

  return cause instanceof ApplicationFailure && cause.type ? cause.type : 'export_failed';
}

function failureMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;

  return cause instanceof Error ? cause.message : String(cause);
}
