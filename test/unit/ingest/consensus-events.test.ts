import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { removeQuietly } from '../../../bundle/files.js';
import { eventsForIngest } from '../../../ingest/ingest-events.js';
import { ingestPaths } from '../../../ingest/ingest-paths.js';
import { migrateDatabase, openDatabase, type Database } from '../../../store/database.js';
import { publishPolicy } from '../../../store/policy-store.js';
import { EVIDENCE } from '../../support/export-stack.js';

const OPENVEX = path.join(EVIDENCE, 'vex', 'openvex');
const CASE_7 = path.join(EVIDENCE, 'vex', 'cyclonedx', 'CISA-Use-Cases', 'Case-7', 'vex.json');
const BASH = { vulnerability: 'CVE-1234-5678', product: 'pkg:apk/wolfi/bash@1.0.0' };

// Expected outcomes read by hand from the OpenVEX fixtures: document1 (John Doe,
// 05:04:34) says under_investigation, document2 (John Doe, 05:06:38) says fixed;
// sample-2vulns and sample-history (The OpenVEX Project) both say nginx is not_affected by
// CVE-2023-27103, sample-history only repeating it.
describe('ingestPaths', { timeout: 60_000 }, () => {
  let dir: string;
  let db: Database;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'stella-consensus-events-'));
    const databaseUrl = `file:${path.join(dir, 'stella.db')}`;
    await migrateDatabase(databaseUrl);
    db = await openDatabase(databaseUrl);
  });

  after(async () => {
    await db?.$disconnect();
    await removeQuietly(dir);
  });

  const ingest = async (tenant: string, ...files: string[]) => {
    const report = await ingestPaths(db, tenant, files.map((f) => path.join(OPENVEX, f)));
    const events = eventsForIngest(report);

    const recomputed = events.filter((e) => e.type === 'vex.consensus.recomputed');

    return { report, events, recomputed };
  };

  describe('when the first statement about a vulnerability and product arrives', () => {
    it('returns a change from no consensus and raises vex.consensus.recomputed', async () => {
      const { report, recomputed } = await ingest('first', 'document1.vex.json');

      assert.deepEqual(report.consensusChanges, [
        { ...BASH, before: null, after: 'under_investigation' },
      ]);
      assert.deepEqual(recomputed, [
        {
          type: 'vex.consensus.recomputed',
          debounceSeconds: 10,
          consensusChanges: report.consensusChanges,
        },
      ]);
    });
  });

  describe('when a later statement of the same issuer changes the consensus', () => {
    it('returns under_investigation → fixed in the event, for this tenant only', async () => {
      await ingest('second', 'document1.vex.json');

      const { recomputed } = await ingest('second', 'document2.vex.json');
      const other = await ingest('bystander', 'document2.vex.json');

      assert.deepEqual(
        recomputed.map((e) => e.consensusChanges),
        [[{ ...BASH, before: 'under_investigation', after: 'fixed' }]],
      );
      assert.deepEqual(other.report.consensusChanges, [{ ...BASH, before: null, after: 'fixed' }]);
    });
  });

  describe('when the same document is ingested again', () => {
    it('returns no change and raises no event at all', async () => {
      await ingest('again', 'document1.vex.json', 'document2.vex.json');

      const { report, events } = await ingest('again', 'document2.vex.json');

      assert.equal(report.duplicates.length, 1);
      assert.deepEqual(report.consensusChanges, []);
      assert.deepEqual(events, []);
    });
  });

  describe('when new statements only repeat the consensus', () => {
    it('raises vex.ingested without vex.consensus.recomputed', async () => {
      await ingest('repeat', 'sample-2vulns.openvex.json');

      const { report, events } = await ingest('repeat', 'sample-history.openvex.json');

      assert.equal(report.ingested.length, 1);
      assert.deepEqual(report.consensusChanges, []);
      assert.deepEqual(events.map((e) => e.type), ['vex.ingested']);
    });
  });

  describe('when a status changes and changes back within one ingest', () => {
    it('returns the net change only', async () => {
      const { report } = await ingest('net', 'document1.vex.json', 'document2.vex.json');

      assert.deepEqual(report.consensusChanges, [{ ...BASH, before: null, after: 'fixed' }]);
    });
  });

  describe('when the latest policy gives the issuer weight 0', () => {
    it('returns unknown as the consensus after the statement arrived', async () => {
      await publishPolicy(db, 'distrust', { version: 'pol-v1.0.0', document: distrustPolicy() });

      const { report } = await ingest('distrust', 'document2.vex.json');

      assert.deepEqual(report.consensusChanges, [{ ...BASH, before: null, after: 'unknown' }]);
    });
  });

  describe('when a CycloneDX document scopes statements to versions (CISA Case-7)', () => {
    it('returns one change per version entry', async () => {
      const report = await ingestPaths(db, 'case-7', [CASE_7]);
      const jkl = report.consensusChanges.filter((c) => c.product.endsWith('#product-JKL'));

      assert.equal(report.consensusChanges.length, 10);
      assert.deepEqual(
        jkl.map((c) => [c.productVersion, c.after]),
        [
          ['5.1', 'fixed'],
          ['vers:generic/>=1.0|<=4.4', 'not_affected'],
          ['vers:generic/>=4.5|<=5.0', 'affected'],
        ],
      );
    });
  });
});

function distrustPolicy(): string {
  return [
    'schema: stella.policy/v1',
    'version: pol-v1.0.0',
    'name: distrust John Doe',
    'vex:',
    '  defaultWeight: 0.5',
    '  issuers:',
    '    - { issuer: John Doe, weight: 0 }',
    'rules: []',
    'default: { action: warn, riskScore: 10, rationale: "{{advisory}}" }',
  ].join('\n');
}
