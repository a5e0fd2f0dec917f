import express, { Router } from 'express';
import { z } from 'zod';
import { StellaError } from '../../domain/errors.js';
import { parsePolicySnapshot } from '../../policy/policy-snapshot.js';
import type { Database } from '../../store/database.js';
import { getPolicy, latestPolicy, listPolicies, publishPolicy } from '../../store/policy-store.js';
import { tenantOf } from '../tenant.js';

export const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'];
const publishBodySchema = z.strictObject({ document: z.string().min(1).max(1_000_000) });

// Policy versions: publish (YAML body, or JSON {document}), list, get. A version is the
// one the document names; publishing it again with the same bytes answers 200, with other
// bytes 409 conflict. "latest" names the highest version.
export function policyRoutes(db: Database): Router {
  const router = Router();

  router.post(
    '/export/policies',
    express.text({ type: YAML_TYPES, limit: '1mb' }),
    async (req, res) => {
      const document =
        typeof req.body === 'string' ? req.body : publishBodySchema.parse(req.body).document;
      const snapshot = parsePolicySnapshot(document);
      const { policy, created } = await publishPolicy(db, tenantOf(req), {
        version: snapshot.version,
        document,
      });
      res
        .status(created ? 201 : 200)
        .json({
          version: policy.version,
          sha256: policy.sha256,
          createdAt: policy.createdAt,
          name: snapshot.name,
        });
    },
  );

  router.get('/export/policies', async (req, res) => {
    res.json({ policies: await listPolicies(db, tenantOf(req)) });
  });

  router.get('/export/policies/:version', async (req, res) => {
    const policy = await resolve(db, tenantOf(req), req.params.version);
    res.json(policy);
  });

  router.get('/export/policies/:version/document', async (req, res) => {
    const policy = await resolve(db, tenantOf(req), req.params.version);
    res.type('application/yaml').send(policy.document);
  });

  return router;
}

async function resolve(db: Database, tenant: string, version: string) {
  if (version !== 'latest') {
    return getPolicy(db, tenant, version);
  }
  const latest = await latestPolicy(db, tenant);
  if (!latest) {
    throw new StellaError('not_found', 'no policy is published for this tenant');
  }

  return latest;
}
