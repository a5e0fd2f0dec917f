import type { Command } from 'commander';
import { StellaError } from '../../domain/errors.js';
import { ingestLimitsFromEnv } from '../../ingest/ingest-limits.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import { loadConfig } from '../../platform/config.js';
import { migrateDatabase, openDatabase } from '../../store/database.js';
import { emit } from '../output.js';
import { eventsForIngest } from '../../ingest/ingest-events.js';
import type { StellaConfig } from '../../platform/config.js';
import { connectTemporal } from '../../platform/temporal.js';
import { deliverExportEvent, type ExportEventRequest } from '../../schedules/export-events.js';
import type { Database } from '../../store/database.js';

// Events go to Temporal directly (signal-with-start of the subscribed profiles' debouncing
// workflows): ingest needs no API. An unreachable Temporal loses the events, not the ingest.
async function emitIngestEvents(db: Database, config: StellaConfig, tenant: string, events: ExportEventRequest[]) {
  if (events.length === 0) {
    return;
  }
  let temporal;
  try {
    temporal = await connectTemporal(config, { connectTimeoutMs: 3000 });
  } catch {
    process.stderr.write(`stella: ${events.length} recompute events not sent: Temporal at ${config.temporalAddress} is unreachable\n`);

    return;
  }
  try {
    for (const event of events) {
      await deliverExportEvent({ db, temporal: temporal.client, config }, tenant, event);
    }
  } finally {
    await temporal.close();
  }
}

// Writes to the store directly (no API round trip): ingest is how evidence arrives.
export function registerIngestCommand(program: Command): void {
  program
    .command('ingest <paths...>')
    .description('Ingest advisories, VEX and SBOM documents from files and folders')
    .option('--no-events', 'do not emit the recompute events that start subscribed exports')
    .action(async (paths: string[], opts: { events: boolean }, command: Command) => {
      const options = command.optsWithGlobals<{ tenant: string; json?: boolean }>();
      const config = loadConfig();
      await migrateDatabase(config.databaseUrl);
      const db = await openDatabase(config.databaseUrl);
      try {
        const limits = ingestLimitsFromEnv(process.env);
        const report = await ingestPaths(db, options.tenant, paths, undefined, limits);
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
        if (opts.events) {
          await emitIngestEvents(db, config, options.tenant, eventsForIngest(report));
        }
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
