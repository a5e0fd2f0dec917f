import { Router } from 'express';
import { z } from 'zod';
import type { Database } from '../../store/database.js';
import { listAuditEntries } from '../../store/audit-store.js';
import { tenantOf } from '../tenant.js';

const auditQuerySchema = z.strictObject({
  action: z.string().max(64).optional(),
  outcome: z.enum(['allowed', 'denied', 'succeeded', 'failed']).optional(),
  after: z.iso.datetime({ offset: true }).optional(),
  before: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

// The caller's tenant's audit log, newest first (Export.Admin: see api/route-permissions.ts).
export function auditRoutes(db: Database): Router {
  const router = Router();

  router.get('/export/audit', async (req, res) => {
    const query = auditQuerySchema.parse(req.query);
    const entries = await listAuditEntries(db, tenantOf(req), {
      action: query.action,
      outcome: query.outcome,
      after: query.after ? new Date(query.after) : undefined,
      before: query.before ? new Date(query.before) : undefined,
      limit: query.limit,
    });
    res.json({ entries });
  });

  return router;
}
