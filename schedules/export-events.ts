import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { StellaError } from '../domain/errors.js';
import { exportFiltersSchema } from '../domain/filters.js';
import type { StellaConfig } from '../platform/config.js';
import { newId } from '../platform/ids.js';
import type { Database } from '../store/database.js';
import { getProfile, listProfiles, type ProfileView } from '../store/export-store.js';
import {
  EVENT_EXPORT_WORKFLOW,
  EXPORT_EVENT_TYPES,
  eventWorkflowId,
  exportEventSignal,
  type EventExportInput,
  type ExportEvent,
} from '../workflows/export-trigger-definitions.js';

// POST /export/events. Without profileIds, an event goes to the profiles that subscribe to
// its type in their config (`triggers.events`) and whose filters admit its ecosystem.
const CONSENSUS_STATUSES = [
  'not_affected',
  'affected',
  'fixed',
  'under_investigation',
  'unknown',
] as const;

export const exportEventSchema = z.strictObject({
  type: z.enum(EXPORT_EVENT_TYPES),
  ecosystem: z.string().min(1).max(64).optional(),
  // vex.consensus.recomputed: the consensus keys that moved (ingest/consensus-recompute.ts).
  consensusChanges: z
    .array(
      z.strictObject({
        vulnerability: z.string().min(1).max(256),
        product: z.string().min(1).max(2048),
        scope: z.string().max(2048).optional(),
        productVersion: z.string().max(512).optional(),
        before: z.enum(CONSENSUS_STATUSES).nullable(),
        after: z.enum(CONSENSUS_STATUSES).nullable(),
      }),
    )
    .max(1000)
    .optional(),
  profileIds: z.array(z.string().min(1).max(64)).min(1).max(100).optional(),
  debounceSeconds: z.number().int().min(0).max(3600).default(10),
});

export type ExportEventRequest = z.infer<typeof exportEventSchema>;

export interface EventDeliveryResult {
  event: ExportEvent;
  deliveredTo: { profileId: string; workflowId: string }[];
}

export interface EventDependencies {
  db: Database;
  temporal: Client;
  config: StellaConfig;
}

const profileTriggersSchema = z.object({
  triggers: z.object({ events: z.array(z.string()) }).optional(),
  filters: exportFiltersSchema.optional(),
});

// Signal-with-start per matching profile: the first event of a burst starts that profile's
// debouncing workflow, later ones join it, and the burst gives one run.
export async function deliverExportEvent(
  deps: EventDependencies,
  tenant: string,
  request: ExportEventRequest,
  now = new Date(),
): Promise<EventDeliveryResult> {
  const event: ExportEvent = {
    id: newId('evt', now.getTime()),
    type: request.type,
    ecosystem: request.ecosystem,
    ...(request.consensusChanges ? { consensusChanges: request.consensusChanges } : {}),
    receivedAt: now.toISOString(),
  };
  const profiles = await matchingProfiles(deps.db, tenant, request);
  const deliveredTo = [];
  for (const profile of profiles) {
    deliveredTo.push({ profileId: profile.id, workflowId: await signal(deps, tenant, profile.id, request, event) });
  }

  return { event, deliveredTo };
}

async function matchingProfiles(db: Database, tenant: string, request: ExportEventRequest) {
  if (request.profileIds) {
    return Promise.all(request.profileIds.map((id) => getProfile(db, tenant, id)));
  }
  const profiles = await listProfiles(db, tenant);

  return profiles.filter((profile) => subscribes(profile, request));
}

function subscribes(profile: ProfileView, request: ExportEventRequest): boolean {
  const parsed = profileTriggersSchema.safeParse(profile.config);
  if (!parsed.success || !parsed.data.triggers?.events.includes(request.type)) {
    return false;
  }
  const ecosystems = parsed.data.filters?.ecosystems;

  return !request.ecosystem || !ecosystems || ecosystems.includes(request.ecosystem);
}

async function signal(
  deps: EventDependencies,
  tenant: string,
  profileId: string,
  request: ExportEventRequest,
  event: ExportEvent,
): Promise<string> {
  const workflowId = eventWorkflowId(tenant, profileId);
  const debounceMs = request.debounceSeconds * 1000;
  const input: EventExportInput = { tenant, profileId, debounceMs, maxWaitMs: Math.max(debounceMs * 10, 60_000) };
  try {
    await deps.temporal.workflow.signalWithStart(EVENT_EXPORT_WORKFLOW, {
      workflowId,
      taskQueue: deps.config.taskQueue,
      args: [input],
      signal: exportEventSignal,
      signalArgs: [event],
    });
  } catch (err) {
    throw new StellaError('unavailable', 'the workflow service could not take the event', { cause: err });
  }

  return workflowId;
}
