import { proxyActivities } from '@temporalio/workflow';
import type { RetentionActivities } from '../activities/retention-activities.js';
import type { RetentionInput, RetentionResult } from './export-trigger-definitions.js';

const BATCH = 50;

const retention = proxyActivities<RetentionActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
});

// Prunes one tenant's published bundles by age (itself started by a schedule). The clock is
// the workflow's, so a replay decides the same; every prune is recorded in audit_entries.
export async function exportRetentionWorkflow(input: RetentionInput): Promise<RetentionResult> {
  const now = new Date(Date.now()).toISOString();
  const plan = await retention.planTenantRetention({ ...input, now });
  const result: RetentionResult = { prunedData: [], prunedAll: [], keptAsBase: plan.keptAsBase, bytesRemoved: 0 };

  for (let start = 0; start < plan.prune.length; start += BATCH) {
    const decisions = plan.prune.slice(start, start + BATCH);
    const outcomes = await retention.pruneBundles({ tenant: input.tenant, decisions });
    for (const outcome of outcomes) {
      (outcome.level === 'all' ? result.prunedAll : result.prunedData).push(outcome.runId);
      result.bytesRemoved += outcome.bytes;
    }
  }

  return result;
}
