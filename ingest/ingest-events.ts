import type { ExportEventRequest } from '../schedules/export-events.js';
import type { IngestReport } from './ingest-paths.js';

// The recompute events an ingest gives rise to: one per ecosystem whose advisories arrived,
// and one per other kind of evidence. Duplicates (documents already stored) change nothing
// and raise none.
export function eventsForIngest(report: IngestReport): ExportEventRequest[] {
  const fresh = report.ingested;
  const ecosystems = [...new Set(fresh.flatMap((outcome) => outcome.ecosystems))].sort();
  const events: ExportEventRequest[] = ecosystems.map((ecosystem) => ({
    type: 'advisories.ingested',
    ecosystem,
    debounceSeconds: 10,
  }));
  if (fresh.some((outcome) => outcome.counts.vexStatements > 0)) {
    events.push({ type: 'vex.ingested', debounceSeconds: 10 });
  }
  if (fresh.some((outcome) => outcome.counts.sboms > 0)) {
    events.push({ type: 'sboms.ingested', debounceSeconds: 10 });
  }

  return events;
}
