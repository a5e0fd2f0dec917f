import type { Command } from 'commander';
import { StellaError } from '../../domain/errors.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import { loadConfig } from '../../platform/config.js';
import { migrateDatabase, openDatabase } from '../../store/database.js';
import { emit } from '../output.js';

// Writes to the store directly (no API round trip): ingest is how evidence arrives.
export function registerIngestCommand(program: Command): void {
  program
    .command('ingest <paths...>')
    .description('Ingest advisories, VEX and SBOM documents from files and folders')
    .action(async (paths: string[], _opts: unknown, command: Command) => {
      const options = command.optsWithGlobals<{ tenant: string; json?: boolean }>();
      const config = loadConfig();
      await migrateDatabase(config.databaseUrl);
      const db = await openDatabase(config.databaseUrl);
      try {
        const report = await ingestPaths(db, options.tenant, paths);
        const summary = {
          ingested: report.ingested.length,
          duplicates: report.duplicates.length,
          rejected: report.rejected,
        };
        emit(options, summary, () =>
          [
            `ingested ${summary.ingested} documents, ${summary.duplicates} already present, ${report.rejected.length} rejected`,
            ...report.rejected.map((r) => `  rejected ${r.path}: ${r.errorClass}: ${r.message}`),
          ].join('\n'),
        );
        if (report.rejected.length > 0) {
          process.exitCode = 2;
        }
        if (report.ingested.length + report.duplicates.length === 0 && report.rejected.length === 0) {
          throw new StellaError('not_found', 'no documents found under the given paths');
        }
      } finally {
        await db.$disconnect();
      }
    });
}
