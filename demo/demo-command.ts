import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { bundlePaths } from '../activities/bundle-paths.js';
import type { RunView } from '../api/run-view.js';
import { extractTarZst } from '../bundle/extract.js';
import { removeQuietly } from '../bundle/files.js';
import { ApiClient } from '../cli/api-client.js';
import { downloadBundle } from '../cli/download.js';
import { waitForRun } from '../cli/wait-for-run.js';
import { StellaError } from '../domain/errors.js';
import { ingestPaths } from '../ingest/ingest-paths.js';
import { loadConfig } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { packageRoot } from '../platform/package-root.js';
import { verifyBundle } from '../signing/verify-bundle.js';
import { startEmbeddedStack } from '../stack/embedded-stack.js';
import { openDatabase } from '../store/database.js';

const SAMPLE_EVIDENCE = 'test/fixtures/evidence';

// The main job on the embedded default, start to finish: stack up, evidence in, a json:raw
// export through the API, the bundle downloaded and verified, everything shut down.
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run a json:raw export of the sample evidence end to end on the embedded stack')
    .action(async (_opts: unknown, command: Command) => {
      const { tenant } = command.optsWithGlobals<{ tenant: string }>();
      await runDemo(tenant);
    });
}

async function runDemo(tenant: string) {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const logger = createLogger('stella-demo', process.env.STELLA_LOG_LEVEL ?? 'warn');
  process.chdir(packageRoot());
  const config = { ...loadConfig(), apiPort: 0 };

  say('1/6 Starting the embedded stack (Temporal dev server, worker, API, SQLite under .data/)');
  const stack = await startEmbeddedStack(config, logger);
  try {
    say(`    API ${stack.api.url}, Temporal ${stack.temporal.address}`);
    await ingestSampleEvidence(stack.config.databaseUrl, tenant, say);
    const api = new ApiClient({ baseUrl: stack.api.url, tenant });

    say('3/6 Creating a json:raw export run through the API');
    const created = await api.json<RunView>('POST', '/export/runs', { profileId: 'prof_json_raw' });
    say(`    run ${created.id}`);

    say('4/6 Waiting for the run');
    const run = await waitForRun(api, created.id);
    if (run.state !== 'succeeded') {
      throw new StellaError('export_failed', `run ${run.id} ended ${run.state}: ${run.errorClass} ${run.errorMessage}`);
    }

    const paths = bundlePaths(stack.config, { tenant, runId: run.id });
    const download = path.join(config.dataDir, 'downloads', `${run.id}.tar.zst`);
    say('5/6 Downloading the bundle (HTTP, resumable) and checking its hash');
    const fetched = await downloadBundle(api, run.id, download);
    say(`    ${fetched.path} (${fetched.size} bytes)`);

    say('6/6 Verifying the signature and every file hash, offline');
    await verifyDownloaded(fetched.path, say);

    say('');
    say('Done.');
    say(`  bundle folder   ${paths.final}`);
    say(`  bundle archive  ${paths.archive}`);
    say(`  sha256          ${run.artifact?.sha256}`);
    say(`  records         ${Object.entries(run.counts ?? {}).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  } finally {
    await stack.stop();
  }
}

async function ingestSampleEvidence(databaseUrl: string, tenant: string, say: (line: string) => void) {
  say(`2/6 Ingesting the sample evidence in ${SAMPLE_EVIDENCE}/`);
  const db = await openDatabase(databaseUrl);
  try {
    const report = await ingestPaths(db, tenant, [SAMPLE_EVIDENCE]);
    say(`    ${report.ingested.length} new documents, ${report.duplicates.length} already stored, ${report.rejected.length} rejected`);
    for (const rejection of report.rejected) {
      say(`    rejected ${rejection.path}: ${rejection.message}`);
    }
  } finally {
    await db.$disconnect();
  }
}

async function verifyDownloaded(archive: string, say: (line: string) => void) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stella-demo-verify-'));
  try {
    await extractTarZst(archive, dir);
    const result = await verifyBundle({ bundleDir: dir });
    if (!result.ok) {
      throw new StellaError('integrity_failed', result.failures.map((f) => `${f.check} ${f.path ?? ''}: ${f.message}`).join('; '));
    }
    say(`    signature OK (key ${result.keyId}), ${result.filesChecked} files match their hashes`);
  } finally {
    await removeQuietly(dir);
  }
}
