import {
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { TriggerActivities } from '../activities/trigger-activities.js';
import {
  exportEventSignal,
  type EventExportInput,
  type ExportEvent,
  type ScheduledExportInput,
  type TriggeredRunResult,
} from './export-trigger-definitions.js';

const NON_RETRYABLE = ['bad_request', 'not_found', 'unsupported_profile', 'denied'];

const starting = proxyActivities<TriggerActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: NON_RETRYABLE },
});

// Waits on the run's own workflow; the heartbeat keeps a dead worker from holding it.
const waiting = proxyActivities<TriggerActivities>({
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

// A schedule's action. It lives as long as the run it starts, so that the schedule's overlap
// policy (skip by default) sees a firing during a run as an overlap. Cancelled by the
// schedule (overlap cancel_other), it cancels its run.
export async function scheduledExportWorkflow(input: ScheduledExportInput): Promise<TriggeredRunResult> {
  const { runId } = await starting.startTriggeredRun({
    tenant: input.tenant,
    profileId: input.profileId,
    filters: input.filters,
    trigger: 'schedule',
    requestId: workflowInfo().workflowId,
    source: { scheduleId: input.scheduleId, scheduledWorkflowId: workflowInfo().workflowId },
  });

  try {
    return await waiting.awaitRunEnd({ tenant: input.tenant, runId });
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => starting.cancelRun({ tenant: input.tenant, runId }));
    }
    throw err;
  }
}

// Debounces events for one tenant and profile: the first event starts this workflow (signal-
// with-start); the run starts once no event has arrived for debounceMs, or maxWaitMs after
// the first, so a burst gives one run. Events arriving while the run is being started are
// carried into a fresh execution, which keeps the history short.
export async function eventExportWorkflow(input: EventExportInput): Promise<string[]> {
  const pending: ExportEvent[] = [...(input.pending ?? [])];
  setHandler(exportEventSignal, (event) => {
    pending.push(event);
  });

  await condition(() => pending.length > 0);
  await settle(pending, input);
  const batch = pending.splice(0);
  const { runId } = await starting.startTriggeredRun({
    tenant: input.tenant,
    profileId: input.profileId,
    trigger: 'event',
    requestId: `${workflowInfo().workflowId}:${workflowInfo().runId}`,
    source: { events: batch },
  });

  if (pending.length > 0) {
    await continueAsNew<typeof eventExportWorkflow>({ ...input, pending: pending.splice(0) });
  }

  return [runId];
}

async function settle(pending: ExportEvent[], input: EventExportInput) {
  const deadline = Date.now() + input.maxWaitMs;
  for (;;) {
    const seen = pending.length;
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      return;
    }
    const more = await condition(() => pending.length > seen, Math.min(input.debounceMs, remaining));
    if (!more) {
      return;
    }
  }
}
