import { Router } from 'express';
import { Counter } from 'prom-client';
import { bundlePaths } from '../../activities/bundle-paths.js';
import { StellaError } from '../../domain/errors.js';
import type { StellaConfig } from '../../platform/config.js';
import { publishedJwks } from '../../signing/local-key-signer.js';
import { verifyBundle } from '../../signing/verify-bundle.js';
import type { Database } from '../../store/database.js';
import { getRun } from '../../store/export-store.js';
import type { ApiMetrics } from '../metrics.js';
import { tenantOf } from '../tenant.js';

export interface RunVerificationDependencies {
  db: Database;
  config: StellaConfig;
  metrics: ApiMetrics;
}

const VERIFY_FAIL_METRIC = 'export_verify_fail_total';

// POST /export/runs/:id/verify: the offline checks of `stella export verify`, run on the
// stored bundle against this deployment's published keys, so a bundle signed by a key since
// marked compromised fails here too. The answer is 200 with `ok` either way: a failed
// verification is a finding about the bundle, not a failed request.
export function runVerificationRoutes(deps: RunVerificationDependencies): Router {
  const router = Router();
  const failures = verifyFailCounter(deps.metrics);

  router.post('/export/runs/:id/verify', async (req, res) => {
    const run = await getRun(deps.db, tenantOf(req), String(req.params.id));
    if (run.state !== 'succeeded') {
      throw new StellaError('not_found', `run ${run.id} has no bundle (state ${run.state})`);
    }

    const bundleDir = bundlePaths(deps.config, { tenant: run.tenant, runId: run.id }).final;
    const published = await publishedJwks({ keysDir: deps.config.keysDir });
    // With no key ever published here, the bundle's own keys are all there is to check with.
    const jwks = published.keys.length > 0 ? published : undefined;
    const result = await verifyBundle({ bundleDir, jwks });
    if (!result.ok) failures.inc();
    res.json({ runId: run.id, ...result });
  });

  return router;
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
