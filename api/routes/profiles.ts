import { Router } from 'express';
import { z } from 'zod';
import { jsonPartLimitsSchema } from '../../adapters/json/json-part-limits.js';
import { AGE_RECIPIENT } from '../../adapters/mirror/mirror-encryption.js';
import { exportFiltersSchema } from '../../domain/filters.js';
import { PROFILE_KINDS } from '../../domain/profiles.js';
import { vexTrustSchema } from '../../policy/policy-snapshot.js';
import { EXPORT_EVENT_TYPES } from '../../workflows/export-trigger-definitions.js';
import type { Database } from '../../store/database.js';
import {
  createProfile,
  deleteProfile,
  getProfile,
  listProfiles,
  updateProfile,
} from '../../store/export-store.js';
import { tenantOf } from '../tenant.js';

// RFC 6838 type/subtype with an optional +suffix, as OCI media types are written.
const MEDIA_TYPE = /^[A-Za-z0-9][\w.+-]{0,126}\/[A-Za-z0-9][\w.+-]{0,126}$/;

const profileConfigSchema = z.strictObject({
  filters: exportFiltersSchema.optional(),
  description: z.string().max(2000).optional(),
  // Events that start a run of this profile (debounced), e.g. advisories.ingested.
  triggers: z.strictObject({ events: z.array(z.enum(EXPORT_EVENT_TYPES)).max(10) }).optional(),
  // json:policy: write decision traces beside the decisions.
  traces: z.boolean().optional(),
  // mirror:*: encrypt the data subtrees with age for these recipients; `strict` also
  // encrypts manifest.yaml (adapters/mirror/mirror-encryption.ts).
  encrypt: z.boolean().optional(),
  recipients: z
    .array(z.string().regex(AGE_RECIPIENT, 'an age public key (age1…)'))
    .max(100)
    .optional(),
  strict: z.boolean().optional(),
  // json:* and mirror:*: the size of one data file part (adapters/json/json-part-limits.ts).
  ...jsonPartLimitsSchema.shape,
  // mirror:*: VEX consensus trust weights, `true` for the defaults, `false` for no
  // consensus/ section (consensus/consensus-mirror-section.ts).
  vexConsensus: z.union([z.boolean(), vexTrustSchema]).optional(),
  // Distribution settings of this profile's bundles (activities/distribution-activities.ts).
  distribution: z
    .strictObject({
      oci: z
        .strictObject({
          artifactType: z.string().regex(MEDIA_TYPE).optional(),
          layerMediaType: z.string().regex(MEDIA_TYPE).optional(),
          configMediaType: z.string().regex(MEDIA_TYPE).optional(),
          annotations: z.record(z.string().max(128), z.string().max(4096)).optional(),
          shardBytes: z.number().int().min(1024).optional(),
        })
        .optional(),
    })
    .optional(),
}).refine((config) => config.encrypt !== true || (config.recipients?.length ?? 0) > 0, {
  message: 'encrypt=true needs recipients: one or more age public keys (age1…)',
  path: ['recipients'],
});

const createProfileSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, - and _'),
  name: z.string().min(1).max(200),
  kind: z.enum(PROFILE_KINDS),
  config: profileConfigSchema.default({}),
});

const patchProfileSchema = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  config: profileConfigSchema.optional(),
});

const listQuerySchema = z.object({
  kind: z.enum(['json', 'trivy', 'mirror']).optional(),
  variant: z.string().max(32).optional(),
});

export function profileRoutes(db: Database): Router {
  const router = Router();

  router.get('/export/profiles', async (req, res) => {
    const query = listQuerySchema.parse(req.query);
    res.json({ profiles: await listProfiles(db, tenantOf(req), query) });
  });

  router.post('/export/profiles', async (req, res) => {
    const input = createProfileSchema.parse(req.body);
    res.status(201).json(await createProfile(db, tenantOf(req), input));
  });

  router.get('/export/profiles/:id', async (req, res) => {
    res.json(await getProfile(db, tenantOf(req), req.params.id));
  });

  router.patch('/export/profiles/:id', async (req, res) => {
    const patch = patchProfileSchema.parse(req.body);
    res.json(await updateProfile(db, tenantOf(req), req.params.id, patch));
  });

  router.delete('/export/profiles/:id', async (req, res) => {
    await deleteProfile(db, tenantOf(req), req.params.id);
    res.status(204).end();
  });

  return router;
}
