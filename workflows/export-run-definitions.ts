import { defineQuery } from '@temporalio/workflow';
import type { RunState } from '../domain/run-states.js';

// Shared by the workflow, the API and the CLI, so that the three cannot drift.

export const EXPORT_RUN_WORKFLOW = 'exportRunWorkflow';

export interface ExportRunInput {
  runId: string;
  tenant: string;
}

export type ExportRunPhase = RunState;

export interface ExportRunProgress {
  phase: ExportRunPhase;
  counts?: Record<string, number>;
  errorClass?: string;
}

export interface ExportRunResult {
  runId: string;
  artifactSha256: string;
  manifestSha256: string;
  counts: Record<string, number>;
}

export const progressQuery = defineQuery<ExportRunProgress>('progress');
