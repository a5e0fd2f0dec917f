import { defineSignal } from '@temporalio/workflow';
import type { ConsensusChange } from '../consensus/consensus-records.js';
import type { ExportFilters } from '../domain/filters.js';

// Shared by the trigger workflows, the API and the CLI, so that the three cannot drift.

export const SCHEDULED_EXPORT_WORKFLOW = 'scheduledExportWorkflow';
export const EVENT_EXPORT_WORKFLOW = 'eventExportWorkflow';
export const RETENTION_WORKFLOW = 'exportRetentionWorkflow';

export const EXPORT_EVENT_TYPES = [
  'advisories.ingested',
  'vex.ingested',
  'sboms.ingested',
  'vex.consensus.recomputed',
] as const;

export type ExportEventType = (typeof EXPORT_EVENT_TYPES)[number];

export interface ExportEvent {
  id: string;
  type: ExportEventType;
  ecosystem?: string;
  // vex.consensus.recomputed: the consensus records whose status moved, with both statuses.
  consensusChanges?: ConsensusChange[];
  receivedAt: string; // RFC 3339, stamped by the API
}

// The action of an export schedule: one run of a profile, recorded with trigger=schedule.
export interface ScheduledExportInput {
  tenant: string;
  scheduleId: string;
  profileId: string;
  filters?: ExportFilters;
}

// One debouncing workflow per tenant and profile; events reach it by signal-with-start.
export interface EventExportInput {
  tenant: string;
  profileId: string;
  debounceMs: number;
  // A steady stream of events still gives a run at least this often.
  maxWaitMs: number;
  // Events carried over by continue-as-new.
  pending?: ExportEvent[];
}

export interface TriggeredRunResult {
  runId: string;
  state: string;
  errorClass: string | null;
}

export interface RetentionRule {
  dataDays: number; // data files and the archive go after this many days
  metadataDays: number; // export.json, provenance.json and signatures/ go after this many
}

export interface RetentionInput {
  tenant: string;
  defaults: RetentionRule;
  profiles?: Record<string, RetentionRule>;
}

export interface RetentionResult {
  prunedData: string[]; // run ids whose data files and archive were removed
  prunedAll: string[]; // run ids whose remaining metadata was removed too
  keptAsBase: string[]; // run ids due for pruning but kept: the base of a retained delta
  bytesRemoved: number;
}

export const exportEventSignal = defineSignal<[ExportEvent]>('exportEvent');

export function scheduleWorkflowId(tenant: string, scheduleId: string): string {
  return `schedule:${tenant}:${scheduleId}`;
}

export function eventWorkflowId(tenant: string, profileId: string): string {
  return `export-events:${tenant}:${profileId}`;
}
