import type { ConsensusChange } from '../consensus/consensus-records.js';
import type { ExportEventRequest } from '../schedules/export-events.js';
import type { IngestReport } from './ingest-paths.js';

// A recompute event as ingest raises it: `vex.consensus.recomputed` also names the
// consensus keys that moved. Missing: the event schema in schedules/export-events.ts does
// not take `consensusChanges` yet, so delivery drops them and subscribers learn only that
// some consensus of the tenant changed.
export type IngestEventRequest = ExportEventRequest & { consensusChanges?: ConsensusChange[] };

// Keeps one event small; a larger recompute names its first changes, in record order.
export const MAX_EVENT_CONSENSUS_CHANGES = 1000;

// The recompute events an ingest gives rise to: one per ecosystem whose advisories arrived,
// one per other kind of evidence, and one when a VEX consensus changed. Duplicates
// (documents already stored) change nothing and raise none.
export function eventsForIngest(report: IngestReport): IngestEventRequest[] {
  const fresh = report.ingested;
  const ecosystems = [...new Set(fresh.flatMap((outcome) => outcome.ecosystems))].sort();
  const events: IngestEventRequest[] = ecosystems.map((ecosystem) => ({
    type: 'advisories.ingested',
    ecosystem,
    debounceSeconds: 10,
  }));
  if (fresh.some((outcome) => outcome.counts.vexStatements > 0)) {
    events.push({ type: 'vex.ingested', debounceSeconds: 10 });
  }
  if (report.consensusChanges.length > 0) {
    const consensusChanges = report.consensusChanges.slice(0, MAX_EVENT_CONSENSUS_CHANGES);
    events.push({ type: 'vex.consensus.recomputed', debounceSeconds: 10, consensusChanges });
  }
  if (fresh.some((outcome) => outcome.counts.sboms > 0)) {
    events.push({ type: 'sboms.ingested', debounceSeconds: 10 });
  }

  return events;
}
