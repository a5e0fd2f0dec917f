import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunView } from '../../api/run-view.js';
import type { ExportManifest } from '../../bundle/manifest.js';
import { waitForRun } from '../../cli/wait-for-run.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import { EVIDENCE, startExportStack, type ExportStack } from '../support/export-stack.js';
import { startPostgres, type PostgresServer } from '../support/postgres.js';

// The same export on the embedded SQLite store and on PostgreSQL: the store is swapped by
// DATABASE_URL alone, and the bundle's data files must not depend on which one holds it.
describe('export store', { timeout: 400_000 }, () => {
  let postgres: PostgresServer | { reason: string };
  const stacks: ExportStack[] = [];

  before(async () => {
    postgres = await startPostgres();
  });

  after(async () => {
    await Promise.all(stacks.map((stack) => stack.stop()));
    if ('url' in postgres) {
      await postgres.stop();
    }
  });

  describe('when DATABASE_URL names PostgreSQL', () => {
    it('returns json:raw data files byte-identical to the SQLite store\'s', async (t) => {
      if (!('url' in postgres)) {
        t.skip(postgres.reason);

        return;
      }
      const onPostgres = await startExportStack({ databaseUrl: postgres.url });
      stacks.push(onPostgres);
      const onSqlite = await startExportStack();
      stacks.push(onSqlite);

      const [a, b] = await Promise.all([exportEvidence(onPostgres), exportEvidence(onSqlite)]);
      const dataFiles = (m: ExportManifest) => m.files.filter((f) => f.path !== 'provenance.json');

      assert.equal(a.counts.advisories, 249);
      assert.deepEqual(dataFiles(a), dataFiles(b));
      assert.deepEqual(a.inputs, b.inputs);
    });
  });
});

async function exportEvidence(stack: ExportStack): Promise<ExportManifest> {
  await ingestPaths(stack.db, 'default', [EVIDENCE]);
  const api = stack.client();
  const created = await api.json<RunView>('POST', '/export/runs', { profileId: 'prof_json_raw' });
  const run = await waitForRun(api, created.id, { quiet: true, intervalMs: 250 });
  assert.equal(run.state, 'succeeded', `${run.errorClass}: ${run.errorMessage}`);

  return api.json<ExportManifest>('GET', `/export/runs/${run.id}/manifest`);
}
