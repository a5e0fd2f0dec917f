import BetterSqlite3 from 'better-sqlite3';

// Copies one tenant's synthetic advisories (support/synthetic-advisories.ts writes only raw
// documents and advisories) to another tenant under new row ids: the suite gives each fault
// its own tenant, and generating the records again would collide on their row ids.
export function cloneSyntheticTenant(databaseUrl: string, from: string, to: string): void {
  const sqlite = new BetterSqlite3(databaseUrl.replace(/^file:/, ''));
  sqlite.pragma('busy_timeout = 10000');
  sqlite.transaction(() => {
    sqlite
      .prepare(`INSERT INTO raw_documents (id, tenant, sha256, mediaType, format, sourceUri, size, bytes, ingestedAt)
        SELECT id || '_' || @to, @to, sha256, mediaType, format, sourceUri, size, bytes, ingestedAt
        FROM raw_documents WHERE tenant = @from`)
      .run({ from, to });
    sqlite
      .prepare(`INSERT INTO advisories (id, tenant, documentId, advisoryId, aliases, source, severityLevel,
          cvssVectors, cwes, published, modified, withdrawn, canonical, sha256)
        SELECT id || '_' || @to, @to, documentId || '_' || @to, advisoryId, aliases, source, severityLevel,
          cvssVectors, cwes, published, modified, withdrawn, canonical, sha256
        FROM advisories WHERE tenant = @from`)
      .run({ from, to });
  })();
  sqlite.close();
}
