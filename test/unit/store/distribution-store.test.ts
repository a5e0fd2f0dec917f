import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { removeQuietly } from '../../../bundle/files.js';
import { migrateDatabase, openDatabase, type Database } from '../../../store/database.js';
import {
  ensureDistribution,
  findDistribution,
  getRunDistribution,
  listRunDistributions,
  recordDistributionSuccess,
  setDistributionState,
} from '../../../store/distribution-store.js';
import { insertRun } from '../../../store/export-store.js';

// Every function takes the tenant: ids guessed from another tenant reach nothing.
describe('distribution store', { timeout: 60_000 }, () => {
  let dir: string;
  let db: Database;
  const key = { id: 'dst_acme_1', runId: 'run_acme_1', type: 'oci', target: 'registry.test/acme:1' };

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'stella-distribution-store-'));
    const databaseUrl = `file:${path.join(dir, 'stella.db')}`;
    await migrateDatabase(databaseUrl);
    db = await openDatabase(databaseUrl);
    await insertRun(db, 'acme', {
      id: key.runId,
      profileId: 'prof_json_raw',
      profileKind: 'json:raw',
      trigger: 'api',
      state: 'succeeded',
      filters: '{}',
      workflowId: 'export-acme-run_acme_1',
      createdAt: new Date(0),
    });
    await ensureDistribution(db, 'acme', key);
  });

  after(async () => {
    await db?.$disconnect();
    await removeQuietly(dir);
  });

  describe('reads', () => {
    describe('when another tenant names the distribution by its ids', () => {
      it('returns nothing and throws not_found', async () => {
        assert.equal(await findDistribution(db, 'globex', key.id), null);
        assert.deepEqual(await listRunDistributions(db, 'globex', key.runId), []);
        await assert.rejects(getRunDistribution(db, 'globex', key.runId, key.id), {
          code: 'not_found',
        });
      });
    });
  });

  describe('writes', () => {
    describe('when another tenant changes the distribution by its id', () => {
      it('returns without changing the owner\'s row', async () => {
        await setDistributionState(db, 'globex', key.id, { state: 'failed', errorClass: 'denied' });
        await recordDistributionSuccess(db, 'globex', key.id, { manifestDigest: 'sha256:forged' });

        const row = await getRunDistribution(db, 'acme', key.runId, key.id);
        assert.equal(row.state, 'pending');
        assert.equal(row.errorClass, null);
        assert.equal(row.metadata, '{}');
      });
    });
  });
});
