import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Router } from 'express';
import { Counter } from 'prom-client';
import { bundlePaths } from '../../activities/bundle-paths.js';
import { MANIFEST_PATH } from '../../bundle/manifest.js';
import { StellaError } from '../../domain/errors.js';
import type { StellaConfig } from '../../platform/config.js';
import type { BaseManifestInput } from '../../signing/base-link.js';
import { tenantJwks } from '../../signing/tenant-keys.js';
import { verifyBundle } from '../../signing/verify-bundle.js';
import type { Database } from '../../store/database.js';
import { getRun } from '../../store/export-store.js';
import type { HandlerAuditNote } from '../auth/access-control.js';
import type { ApiMetrics } from '../metrics.js';
import { tenantOf } from '../tenant.js';

export interface RunVerificationDependencies {
  db: Database;
  config: StellaConfig;
  metrics: ApiMetrics;
}

const VERIFY_FAIL_METRIC = 'export_verify_fail_total';

// POST /export/runs/:id/verify: the offline checks of `stella export verify`, run on the
// stored bundle against the run's tenant's published keys, so a bundle signed by a key
// since marked compromised fails here too. For a delta the base run's manifest is looked up
// in the same tenant. The answer is 200 with `ok` either way: a failed verification is a
// finding about the bundle, not a failed request.
export function runVerificationRoutes(deps: RunVerificationDependencies): Router {
  const router = Router();
  const failures = verifyFailCounter(deps.metrics);

  router.post('/export/runs/:id/verify', async (req, res) => {
    const tenant = tenantOf(req);
    const run = await getRun(deps.db, tenant, String(req.params.id));
    if (run.state !== 'succeeded') {
      throw new StellaError('not_found', `run ${run.id} has no bundle (state ${run.state})`);
    }

    const bundleDir = bundlePaths(deps.config, { tenant, runId: run.id }).final;
    const published = await tenantJwks({ keysDir: deps.config.keysDir, tenant });
    // With no key ever published here, the bundle's own keys are all there is to check with.
    const jwks = published.keys.length > 0 ? published : undefined;
    const base = await baseManifestOf(deps, tenant, bundleDir);
    const result = await verifyBundle({ bundleDir, jwks, base });
    if (!result.ok) failures.inc();
    // The audit entry (bundle.verify) records the finding, not just the 200.
    res.locals.audit = {
      outcome: result.ok ? 'succeeded' : 'failed',
      details: { ok: result.ok, failures: result.failures.length, keySource: result.keySource },
    } satisfies HandlerAuditNote;
    res.json({ runId: run.id, ...result });
  });

  return router;
}

// The base a delta names, from this tenant's runs: its stored export.json, or the manifest
// hash recorded when it was published if retention has since removed its bundle. A base run
// this tenant does not hold leaves the link unchecked, which the result says.
async function baseManifestOf(
  deps: RunVerificationDependencies,
  tenant: string,
  bundleDir: string,
): Promise<BaseManifestInput | undefined> {
  const baseRunId = await namedBaseRunId(bundleDir);
  if (!baseRunId) return undefined;

  const baseRun = await getRun(deps.db, tenant, baseRunId).catch(() => undefined);
  if (!baseRun) return undefined;

  const source = `run ${baseRunId}`;
  const baseDir = bundlePaths(deps.config, { tenant, runId: baseRunId }).final;
  const bytes = await readFile(path.join(baseDir, MANIFEST_PATH)).catch(() => undefined);
  if (bytes) return { bytes, source };
  if (baseRun.manifestSha256) {
    return { sha256: baseRun.manifestSha256, source: `${source} (recorded hash)` };
  }

  return undefined;
}

async function namedBaseRunId(bundleDir: string): Promise<string | undefined> {
  try {
    const manifest = JSON.parse(await readFile(path.join(bundleDir, MANIFEST_PATH), 'utf8'));
    const runId = (manifest as { base?: { runId?: unknown } }).base?.runId;

    return typeof runId === 'string' ? runId : undefined;
  } catch {
    return undefined; // verifyBundle reports an unreadable manifest
  }
}

// Registered once per registry: createApp may be called again with the same metrics.
function verifyFailCounter(metrics: ApiMetrics): Counter {
  const existing = metrics.registry.getSingleMetric(VERIFY_FAIL_METRIC);
  if (existing) return existing as Counter;

  return new Counter({
    name: VERIFY_FAIL_METRIC,
    help: 'Bundle verifications run by the API that found a problem',
    registers: [metrics.registry],
  });
}
