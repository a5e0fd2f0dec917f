import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleOverlapPolicy,
} from '@temporalio/client';
import { z } from 'zod';
import { StellaError } from '../domain/errors.js';
import { exportFiltersSchema } from '../domain/filters.js';
import type { StellaConfig } from '../platform/config.js';
import {
  RETENTION_WORKFLOW,
  SCHEDULED_EXPORT_WORKFLOW,
  scheduleWorkflowId,
  type RetentionInput,
  type ScheduledExportInput,
} from '../workflows/export-trigger-definitions.js';

const OVERLAP_POLICIES = ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all'] as const;

const retentionRuleSchema = z
  .strictObject({
    dataDays: z.number().int().min(1).max(36_500),
    metadataDays: z.number().int().min(1).max(36_500),
  })
  .refine((rule) => rule.metadataDays >= rule.dataDays, {
    message: 'metadataDays must not be shorter than dataDays',
    path: ['metadataDays'],
  });

const actionSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('export'),
    profileId: z.string().min(1).max(64),
    filters: exportFiltersSchema.optional(),
  }),
  z.strictObject({
    type: z.literal('retention'),
    defaults: retentionRuleSchema,
    profiles: z.record(z.string().min(1).max(64), retentionRuleSchema).optional(),
  }),
]);

// POST /export/schedules. Exactly one of cron and everySeconds says when; the rest are
// Temporal Schedule policies with Stella's defaults (skip overlaps, one minute of catch-up).
export const createScheduleSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, - and _'),
    action: actionSchema,
    cron: z.array(z.string().min(1).max(200)).min(1).max(10).optional(),
    everySeconds: z.number().int().min(1).max(31_536_000).optional(),
    timezone: z.string().min(1).max(64).optional(),
    overlap: z.enum(OVERLAP_POLICIES).default('skip'),
    catchupWindowSeconds: z.number().int().min(10).max(31_536_000).default(60),
    jitterSeconds: z.number().int().min(0).max(86_400).default(0),
    paused: z.boolean().default(false),
    note: z.string().max(500).optional(),
  })
  .refine((s) => (s.cron === undefined) !== (s.everySeconds === undefined), {
    message: 'give exactly one of cron and everySeconds',
    path: ['cron'],
  });

export type CreateScheduleRequest = z.infer<typeof createScheduleSchema>;

export interface ScheduleView {
  id: string;
  tenant: string;
  action: CreateScheduleRequest['action'];
  cron: string[] | null;
  everySeconds: number | null;
  timezone: string | null;
  overlap: CreateScheduleRequest['overlap'];
  catchupWindowSeconds: number;
  jitterSeconds: number;
  paused: boolean;
  note: string | null;
  nextFireTimes: string[];
  recentFirings: { scheduledAt: string; workflowId: string }[];
  running: string[];
  firings: number;
  skippedOverlaps: number;
  missedCatchupWindow: number;
}

export interface ScheduleDependencies {
  temporal: Client;
  config: StellaConfig;
}

// Export schedules are Temporal Schedules, named per tenant: Temporal keeps the calendar,
// applies the overlap policy and catch-up window, and counts skipped firings.
export async function createSchedule(
  deps: ScheduleDependencies,
  tenant: string,
  request: CreateScheduleRequest,
): Promise<ScheduleView> {
  try {
    await deps.temporal.schedule.create(scheduleOptions(deps.config, tenant, request));
  } catch (err) {
    throw asScheduleError(err, request.id);
  }

  return getSchedule(deps, tenant, request.id);
}

export async function getSchedule(deps: ScheduleDependencies, tenant: string, id: string): Promise<ScheduleView> {
  const description = await handleOf(deps, tenant, id)
    .describe()
    .catch((err: unknown) => {
      throw asScheduleError(err, id);
    });

  return scheduleView(tenant, id, description);
}

export async function listSchedules(deps: ScheduleDependencies, tenant: string): Promise<ScheduleView[]> {
  const prefix = temporalScheduleId(tenant, '');
  const ids: string[] = [];
  try {
    for await (const summary of deps.temporal.schedule.list()) {
      if (summary.scheduleId.startsWith(prefix)) {
        ids.push(summary.scheduleId.slice(prefix.length));
      }
    }
  } catch (err) {
    throw asScheduleError(err, '');
  }
  const views = await Promise.all(ids.sort().map((id) => getSchedule(deps, tenant, id).catch(() => undefined)));

  // A schedule deleted between the listing and its description is simply left out.
  return views.filter((view): view is ScheduleView => view !== undefined);
}

export async function pauseSchedule(deps: ScheduleDependencies, tenant: string, id: string, note?: string) {
  await handleOf(deps, tenant, id)
    .pause(note ?? 'paused through Stella')
    .catch((err: unknown) => {
      throw asScheduleError(err, id);
    });

  return getSchedule(deps, tenant, id);
}

export async function unpauseSchedule(deps: ScheduleDependencies, tenant: string, id: string, note?: string) {
  await handleOf(deps, tenant, id)
    .unpause(note ?? 'unpaused through Stella')
    .catch((err: unknown) => {
      throw asScheduleError(err, id);
    });

  return getSchedule(deps, tenant, id);
}

// Fires the schedule now, under its own overlap policy: a firing during a run is skipped
// and counted like a timed one.
export async function triggerSchedule(deps: ScheduleDependencies, tenant: string, id: string) {
  const handle = handleOf(deps, tenant, id);
  const description = await handle.describe().catch((err: unknown) => {
    throw asScheduleError(err, id);
  });
  await handle.trigger(description.policies.overlap);
}

export async function deleteSchedule(deps: ScheduleDependencies, tenant: string, id: string): Promise<void> {
  await handleOf(deps, tenant, id)
    .delete()
    .catch((err: unknown) => {
      throw asScheduleError(err, id);
    });
}

export function temporalScheduleId(tenant: string, id: string): string {
  return `stella:${tenant}:${id}`;
}

function handleOf(deps: ScheduleDependencies, tenant: string, id: string) {
  return deps.temporal.schedule.getHandle(temporalScheduleId(tenant, id));
}

function scheduleOptions(config: StellaConfig, tenant: string, request: CreateScheduleRequest): ScheduleOptions {
  return {
    scheduleId: temporalScheduleId(tenant, request.id),
    spec: {
      cronExpressions: request.cron,
      intervals: request.everySeconds ? [{ every: request.everySeconds * 1000 }] : undefined,
      jitter: request.jitterSeconds * 1000,
      timezone: request.timezone,
    },
    action: {
      type: 'startWorkflow',
      workflowType: request.action.type === 'export' ? SCHEDULED_EXPORT_WORKFLOW : RETENTION_WORKFLOW,
      workflowId: scheduleWorkflowId(tenant, request.id),
      taskQueue: config.taskQueue,
      args: [actionInput(tenant, request)],
    },
    policies: {
      overlap: request.overlap.toUpperCase() as ScheduleOverlapPolicy,
      catchupWindow: request.catchupWindowSeconds * 1000,
    },
    state: { paused: request.paused, note: request.note },
    memo: { stella: { tenant, request } },
  };
}

function actionInput(tenant: string, request: CreateScheduleRequest): ScheduledExportInput | RetentionInput {
  const { action } = request;
  if (action.type === 'retention') {
    return { tenant, defaults: action.defaults, profiles: action.profiles };
  }

  return { tenant, scheduleId: request.id, profileId: action.profileId, filters: action.filters };
}

function scheduleView(tenant: string, id: string, description: ScheduleDescription): ScheduleView {
  const memo = description.memo?.stella as { tenant: string; request: CreateScheduleRequest } | undefined;
  if (!memo || memo.tenant !== tenant) {
    throw new StellaError('not_found', `schedule ${id} not found`);
  }
  const { request } = memo;
  const { info, state, policies } = description;

  return {
    id,
    tenant,
    action: request.action,
    cron: request.cron ?? null,
    everySeconds: request.everySeconds ?? null,
    timezone: request.timezone ?? null,
    overlap: (policies.overlap ?? 'SKIP').toLowerCase() as ScheduleView['overlap'],
    catchupWindowSeconds: Math.round(policies.catchupWindow / 1000),
    jitterSeconds: request.jitterSeconds,
    paused: state.paused,
    note: state.note ?? null,
    nextFireTimes: info.nextActionTimes.map((time) => time.toISOString()),
    recentFirings: info.recentActions.map((action) => ({
      scheduledAt: action.scheduledAt.toISOString(),
      workflowId: action.action.workflow.workflowId,
    })),
    running: info.runningActions.map((action) => action.workflow.workflowId),
    firings: info.numActionsTaken,
    skippedOverlaps: info.numActionsSkippedOverlap,
    missedCatchupWindow: info.numActionsMissedCatchupWindow,
  };
}

function asScheduleError(err: unknown, id: string): StellaError {
  if (err instanceof StellaError) {
    return err;
  }
  if (err instanceof ScheduleNotFoundError) {
    return new StellaError('not_found', `schedule ${id} not found`, { cause: err });
  }
  if (err instanceof ScheduleAlreadyRunning) {
    return new StellaError('conflict', `schedule ${id} already exists`, { cause: err });
  }

  return new StellaError('unavailable', 'the workflow service did not answer', { cause: err });
}
