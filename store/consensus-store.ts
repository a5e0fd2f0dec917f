import type { Database } from './database.js';

// VEX statements as consensus reads them: the canonical lines ingest stored, selected by
// the (vulnerability, product) pairs a consensus record is about.

export interface StatementKey {
  vulnerability: string;
  product: string;
}

const PAIRS_PER_QUERY = 200;

// Every stored line about one of the pairs, in no particular order (consensus sorts).
export async function vexLinesAbout(
  db: Database,
  tenant: string,
  keys: StatementKey[],
): Promise<string[]> {
  const lines: string[] = [];
  for (let start = 0; start < keys.length; start += PAIRS_PER_QUERY) {
    const pairs = keys.slice(start, start + PAIRS_PER_QUERY);
    const rows = await db.vexStatement.findMany({
      where: {
        tenant,
        OR: pairs.map(({ vulnerability, product }) => ({ vulnerability, product })),
      },
      select: { canonical: true },
    });
    lines.push(...rows.map((row) => row.canonical));
  }

  return lines;
}
