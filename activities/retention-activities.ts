import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { removeQuietly } from '../bundle/files.js';
import { MANIFEST_PATH, PROVENANCE_PATH } from '../bundle/manifest.js';
import type { StellaConfig } from '../platform/config.js';
import { appendAuditEntry } from '../store/audit-store.js';
import type { Database } from '../store/database.js';
import { listSucceededRuns } from '../store/retention-store.js';
import type { RetentionInput, RetentionRule } from '../workflows/export-trigger-definitions.js';
import { bundlePaths } from './bundle-paths.js';

export type PruneLevel = 'data' | 'all';

export interface RetentionCandidate {
  runId: string;
  profileId: string;
  finishedAt: string;
  baseRunId?: string;
}

export interface PruneDecision {
  runId: string;
  level: PruneLevel;
}

export interface RetentionPlan {
  prune: PruneDecision[];
  keptAsBase: string[];
}

export interface PruneOutcome {
  runId: string;
  level: PruneLevel;
  removed: string[];
  bytes: number;
}

const DAY_MS = 86_400_000;

// What a bundle keeps after its data is pruned: enough to show what was exported, from
// what, and that it was signed.
const METADATA = new Set([MANIFEST_PATH, PROVENANCE_PATH]);
const METADATA_FOLDER = 'signatures/';

// Decides, for one tenant, which published bundles lose their data and which lose all.
// A bundle that is the base of a delta that is itself kept is never touched: the delta is
// useless without it. Kept deltas protect their base transitively.
export function planRetention(
  runs: RetentionCandidate[],
  input: RetentionInput,
  now: Date,
): RetentionPlan {
  const byId = new Map(runs.map((run) => [run.runId, run]));
  const protectedIds = new Set<string>();
  const ageDays = (run: RetentionCandidate) => (now.getTime() - Date.parse(run.finishedAt)) / DAY_MS;
  const ruleOf = (run: RetentionCandidate): RetentionRule => input.profiles?.[run.profileId] ?? input.defaults;
  const kept = (run: RetentionCandidate) => ageDays(run) < ruleOf(run).dataDays || protectedIds.has(run.runId);

  let grew = true;
  while (grew) {
    grew = false;
    for (const run of runs) {
      const base = run.baseRunId ? byId.get(run.baseRunId) : undefined;
      if (base && kept(run) && !protectedIds.has(base.runId)) {
        protectedIds.add(base.runId);
        grew = true;
      }
    }
  }

  return decide(runs, protectedIds, ageDays, ruleOf);
}

function decide(
  runs: RetentionCandidate[],
  protectedIds: Set<string>,
  ageDays: (run: RetentionCandidate) => number,
  ruleOf: (run: RetentionCandidate) => RetentionRule,
): RetentionPlan {
  const plan: RetentionPlan = { prune: [], keptAsBase: [] };
  for (const run of runs) {
    const age = ageDays(run);
    const rule = ruleOf(run);
    if (age < rule.dataDays) {
      continue;
    }
    if (protectedIds.has(run.runId)) {
      plan.keptAsBase.push(run.runId);
      continue;
    }
    plan.prune.push({ runId: run.runId, level: age >= rule.metadataDays ? 'all' : 'data' });
  }

  return plan;
}

export function createRetentionActivities(deps: { db: Database; config: StellaConfig }) {
  const { db, config } = deps;

  async function planTenantRetention(input: RetentionInput & { now: string }): Promise<RetentionPlan> {
    const rows = await listSucceededRuns(db, input.tenant);
    const runs = rows
      .filter((row) => row.finishedAt)
      .map((row) => ({
        runId: row.id,
        profileId: row.profileId,
        finishedAt: row.finishedAt!.toISOString(),
        baseRunId: (JSON.parse(row.options) as { baseRunId?: string }).baseRunId,
      }));

    return planRetention(runs, input, new Date(input.now));
  }

  // Idempotent: files already gone are skipped, and the audit entry of a prune is written
  // once, under an id made of the run and the level.
  async function pruneBundles(input: { tenant: string; decisions: PruneDecision[] }): Promise<PruneOutcome[]> {
    const outcomes: PruneOutcome[] = [];
    for (const decision of input.decisions) {
      Context.current().heartbeat(decision.runId);
      const outcome = await pruneBundle(config, input.tenant, decision);
      await recordPrune(db, input.tenant, outcome);
      outcomes.push(outcome);
    }

    return outcomes;
  }

  return { planTenantRetention, pruneBundles };
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;

async function pruneBundle(
  config: StellaConfig,
  tenant: string,
  decision: PruneDecision,
): Promise<PruneOutcome> {
  const paths = bundlePaths(config, { tenant, runId: decision.runId });
  const outcome: PruneOutcome = { ...decision, removed: [], bytes: 0 };
  const remove = async (absolute: string, relative: string) => {
    const info = await stat(absolute).catch(() => undefined);
    if (!info) {
      return;
    }
    await removeQuietly(absolute);
    outcome.removed.push(relative);
    outcome.bytes += info.size;
  };

  await remove(paths.archive, path.basename(paths.archive));
  for (const relative of await filesUnder(paths.final)) {
    if (decision.level === 'all' || !isMetadata(relative)) {
      await remove(path.join(paths.final, relative), `${decision.runId}/${relative}`);
    }
  }
  if (decision.level === 'all') {
    await removeQuietly(paths.final);
  }

  return outcome;
}

function isMetadata(relative: string): boolean {
  return METADATA.has(relative) || relative.startsWith(METADATA_FOLDER);
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);

  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

async function recordPrune(db: Database, tenant: string, outcome: PruneOutcome) {
  if (outcome.removed.length === 0) {
    return;
  }
  await appendAuditEntry(db, {
    id: `aud_retention_${outcome.runId}_${outcome.level}`,
    tenant,
    actor: 'retention',
    action: 'retention.prune',
    target: outcome.runId,
    outcome: 'succeeded',
    details: { level: outcome.level, removed: outcome.removed, bytes: outcome.bytes },
  });
}
