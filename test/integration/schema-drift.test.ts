import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunView } from '../../api/run-view.js';
import { waitForRun } from '../../cli/wait-for-run.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import { sql } from '../../store/sql-dialect.js';
import { runCli } from '../support/cli.js';
import { EVIDENCE, startExportStack, stellaEnv, type ExportStack } from '../support/export-stack.js';

// Drift as a worker meets it: one stored advisory carries a field the export schema does
// not list (as if written by a newer ingest). The run must fail, once, with that class.

const DRIFTED = 'GHSA-29mw-wpgm-hmr9';

describe('schema drift', { timeout: 300_000 }, () => {
  let stack: ExportStack;
  let run: RunView;

  before(async () => {
    stack = await startExportStack();
    await ingestPaths(stack.db, 'default', [EVIDENCE]);
    const rows = await stack.db.$queryRaw<{ id: string; canonical: string }[]>(sql`
      SELECT "id", "canonical" FROM "advisories" WHERE "advisoryId" = ${DRIFTED}`);
    const canonical = JSON.stringify({ ...JSON.parse(rows[0].canonical), exploitMaturity: 'poc' });
    await stack.db.$executeRaw(sql`UPDATE "advisories" SET "canonical" = ${canonical} WHERE "id" = ${rows[0].id}`);
    const api = stack.client();
    const created = await api.json<RunView>('POST', '/export/runs', { profileId: 'prof_json_raw' });
    run = await waitForRun(api, created.id, { quiet: true, intervalMs: 200 });
  });

  after(async () => {
    await stack?.stop();
  });

  describe('a json:raw run over a record with an unknown field', () => {
    describe('when read through the API', () => {
      it('returns state failed with errorClass schema_mismatch naming the field and adapter', () => {
        assert.equal(run.state, 'failed');
        assert.equal(run.errorClass, 'schema_mismatch');
        assert.match(run.errorMessage ?? '', /json:raw \(stella\.json-raw\).*advisory field "exploitMaturity"/);
      });
    });

    describe('when created with `stella export run create --wait --json`', () => {
      it('returns exit 8 and the JSON error naming schema_mismatch on stderr', async () => {
        const args = ['--api-url', stack.api.url, '--json', 'export', 'run', 'create'];
        const result = await runCli([...args, '--profile', 'prof_json_raw', '--wait'], stellaEnv(stack.config));
        const error = JSON.parse(result.stderr) as { error_class: string; message: string };

        assert.equal(result.code, 8);
        assert.equal(error.error_class, 'schema_mismatch');
        assert.equal(JSON.parse(result.stdout).errorClass, 'schema_mismatch');
      });
    });
  });
});
