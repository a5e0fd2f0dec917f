import type { Client } from '@temporalio/client';
import { Router } from 'express';
import { z } from 'zod';
import { StellaError } from '../../domain/errors.js';
import type { StellaConfig } from '../../platform/config.js';
import {
  createSchedule,
  createScheduleSchema,
  deleteSchedule,
  getSchedule,
  listSchedules,
  pauseSchedule,
  triggerSchedule,
  unpauseSchedule,
} from '../../schedules/export-schedules.js';
import type { Database } from '../../store/database.js';
import { getProfile } from '../../store/export-store.js';
import { tenantOf } from '../tenant.js';

const noteSchema = z.strictObject({ note: z.string().max(500).optional() });

export interface ScheduleRouteDependencies {
  db: Database;
  temporal: Client;
  config: StellaConfig;
}

export function scheduleRoutes(deps: ScheduleRouteDependencies): Router {
  const router = Router();

  router.post('/export/schedules', async (req, res) => {
    const tenant = tenantOf(req);
    const request = createScheduleSchema.parse(req.body ?? {});
    if (request.action.type !== 'export') {
      throw new StellaError('bad_request', 'retention schedules are created with POST /export/retention/schedules');
    }
    await getProfile(deps.db, tenant, request.action.profileId);
    const view = await createSchedule(deps, tenant, request);
    res.status(201).location(`/export/schedules/${view.id}`).json(view);
  });

  // Retention deletes bundles, so creating its schedule takes the role of /export/retention/*;
  // once created it is listed, paused and deleted like any schedule.
  router.post('/export/retention/schedules', async (req, res) => {
    const request = createScheduleSchema.parse(req.body ?? {});
    if (request.action.type !== 'retention') {
      throw new StellaError('bad_request', 'action.type must be retention here');
    }
    const view = await createSchedule(deps, tenantOf(req), request);
    res.status(201).location(`/export/schedules/${view.id}`).json(view);
  });

  router.get('/export/schedules', async (req, res) => {
    res.json({ schedules: await listSchedules(deps, tenantOf(req)) });
  });

  router.get('/export/schedules/:id', async (req, res) => {
    res.json(await getSchedule(deps, tenantOf(req), req.params.id));
  });

  router.post('/export/schedules/:id/pause', async (req, res) => {
    const { note } = noteSchema.parse(req.body ?? {});
    res.json(await pauseSchedule(deps, tenantOf(req), req.params.id, note));
  });

  router.post('/export/schedules/:id/unpause', async (req, res) => {
    const { note } = noteSchema.parse(req.body ?? {});
    res.json(await unpauseSchedule(deps, tenantOf(req), req.params.id, note));
  });

  router.post('/export/schedules/:id/trigger', async (req, res) => {
    const tenant = tenantOf(req);
    await triggerSchedule(deps, tenant, req.params.id);
    res.status(202).json(await getSchedule(deps, tenant, req.params.id));
  });

  router.delete('/export/schedules/:id', async (req, res) => {
    const tenant = tenantOf(req);
    await getSchedule(deps, tenant, req.params.id);
    await deleteSchedule(deps, tenant, req.params.id);
    res.status(204).end();
  });

  return router;
}
