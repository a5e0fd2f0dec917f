import type { Client } from '@temporalio/client';
import { Router } from 'express';
import type { StellaConfig } from '../../platform/config.js';
import { deliverExportEvent, exportEventSchema } from '../../schedules/export-events.js';
import type { Database } from '../../store/database.js';
import { tenantOf } from '../tenant.js';

export interface EventRouteDependencies {
  db: Database;
  temporal: Client;
  config: StellaConfig;
}

// Recompute events ("advisories ingested for npm", "VEX consensus recomputed"): each one is
// handed to the debouncing workflow of every matching profile and answered at once.
export function eventRoutes(deps: EventRouteDependencies): Router {
  const router = Router();

  router.post('/export/events', async (req, res) => {
    const request = exportEventSchema.parse(req.body ?? {});
    res.status(202).json(await deliverExportEvent(deps, tenantOf(req), request));
  });

  return router;
}
