import type { Database } from './database.js';

// What retention reads of a tenant's runs; it never writes a run (pruning removes files and
// records an audit entry).

export interface RetentionCandidateRow {
  id: string;
  profileId: string;
  finishedAt: Date | null;
  options: string;
}

// Succeeded runs only, in id order (ids are time-ordered).
export async function listSucceededRuns(
  db: Database,
  tenant: string,
): Promise<RetentionCandidateRow[]> {
  return db.exportRun.findMany({
    where: { tenant, state: 'succeeded' },
    select: { id: true, profileId: true, finishedAt: true, options: true },
    orderBy: { id: 'asc' },
  });
}
