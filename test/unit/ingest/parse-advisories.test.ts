import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseDocument } from '../../../ingest/parse-document.js';
import { parseEvidence, utf8 } from './fixture-files.js';

// Expected values below were read by hand from the fixture files.

describe('ingest', () => {
  describe('parseDocument', () => {
    describe('when given GHSA-jfh8-c2jp-5v3q (Log4Shell)', () => {
      it('returns the GHSA advisory with its aliases, severity and fixed versions', async () => {
        const parsed = await parseEvidence('advisories/osv/ghsa/Maven/GHSA-jfh8-c2jp-5v3q.json');
        assert.equal(parsed.format, 'ghsa');
        assert.equal(parsed.mediaType, 'application/json');
        const [advisory] = parsed.advisories;
        assert.equal(advisory.id, 'GHSA-jfh8-c2jp-5v3q');
        assert.deepEqual(advisory.aliases, ['CVE-2021-44228']);
        assert.equal(advisory.source, 'ghsa');
        assert.equal(advisory.severityLevel, 'CRITICAL');
        assert.deepEqual(advisory.cwes, ['CWE-20', 'CWE-400', 'CWE-502', 'CWE-917']);
        assert.equal(advisory.published, '2021-12-10T00:40:56Z');
        assert.equal(advisory.modified, '2022-03-25T20:56:18Z');
        const fixed = advisory.affected.map((a) => a.fixed);
        assert.deepEqual(fixed, [['2.15.0'], ['2.3.1'], ['2.12.2']]);
        assert.deepEqual(advisory.affected[0].ranges, [
          { type: 'ECOSYSTEM', events: [{ introduced: '2.13.0' }, { fixed: '2.15.0' }] },
        ]);
        assert.equal(advisory.affected[0].name, 'org.apache.logging.log4j:log4j-core');
      });
    });

    describe('when given the PYSEC-2021-98 YAML advisory', () => {
      it('returns a pypa advisory with sorted aliases and string versions', async () => {
        const parsed = await parseEvidence('advisories/osv-yaml/pypi/django/PYSEC-2021-98.yaml');
        assert.equal(parsed.format, 'osv');
        assert.equal(parsed.mediaType, 'application/yaml');
        const [advisory] = parsed.advisories;
        assert.equal(advisory.source, 'pypa');
        assert.deepEqual(advisory.aliases, ['CVE-2021-33203', 'GHSA-68w8-qjq3-2gfm']);
        assert.equal(advisory.modified, '2021-06-22T04:54:55.381670Z');
        assert.equal(advisory.published, '2021-06-08T18:15:00Z');
        const [django] = advisory.affected;
        assert.equal(django.purl, 'pkg:pypi/django');
        assert.deepEqual(django.fixed, ['2.2.24', '3.1.12', '3.2.4']);
        assert.equal(django.versions.length, 266);
        assert.ok(django.versions.includes('1.10'));
        assert.equal(advisory.summary, undefined);
        assert.equal(advisory.severityLevel, undefined);
      });
    });

    describe('when given GO-2021-0113 from the Go vulnerability database', () => {
      it('returns a govulndb advisory keeping the year-1 modified time', async () => {
        const parsed = await parseEvidence('advisories/osv/go/GO-2021-0113.json');
        assert.equal(parsed.format, 'osv');
        const [advisory] = parsed.advisories;
        assert.equal(advisory.source, 'govulndb');
        assert.deepEqual(advisory.aliases, ['CVE-2021-38561', 'GHSA-ppp9-7jff-5vj2']);
        assert.equal(advisory.modified, '0001-01-01T00:00:00Z');
        assert.deepEqual(advisory.affected[0].fixed, ['0.3.7']);
        assert.deepEqual(advisory.cwes, []);
      });
    });

    describe('when the advisory is withdrawn', () => {
      it('returns the withdrawn time for JSON and YAML advisories', async () => {
        const ghsa = await parseEvidence('advisories/osv/ghsa/Go/GHSA-76cc-p55w-63g3.json');
        assert.equal(ghsa.advisories[0].withdrawn, '2024-01-23T12:50:23Z');
        const pysecPath = 'advisories/osv-yaml/pypi/ansible/PYSEC-2020-221.yaml';
        const pysec = await parseEvidence(pysecPath);
        assert.equal(pysec.advisories[0].withdrawn, '2023-05-30T03:49:00Z');
      });
    });

    describe('when an OSV advisory uses last_affected instead of fixed', () => {
      it('returns the event and no fixed versions', async () => {
        const parsed = await parseEvidence('advisories/osv/ghsa/Maven/GHSA-fp5r-v3w9-4333.json');
        const [affected] = parsed.advisories[0].affected;
        assert.deepEqual(affected.fixed, []);
        assert.ok(affected.ranges[0].events.some((event) => 'last_affected' in event));
      });
    });

    describe('when YAML scalars look like numbers', () => {
      it('returns them as the strings written', () => {
        const yaml = [
          'id: PYSEC-0000-1',
          'modified: 2021-06-22T04:54:55+02:00',
          'affected:',
          '- package: {name: demo, ecosystem: PyPI}',
          '  ranges:',
          '  - type: ECOSYSTEM',
          '    events: [{introduced: 0}, {fixed: 3.10}]',
          '  versions: [1.10, 2.0]',
        ].join('\n');
        const [advisory] = parseDocument(utf8(yaml), 'x.yaml').advisories;
        assert.deepEqual(advisory.affected[0].fixed, ['3.10']);
        assert.deepEqual(advisory.affected[0].versions, ['1.10', '2.0']);
        assert.equal(advisory.modified, '2021-06-22T02:54:55Z');
        assert.equal(advisory.source, 'pypa');
      });
    });

    describe('when strings are in decomposed Unicode', () => {
      it('returns them NFC-normalized and sorts aliases after normalizing', () => {
        const doc = {
          id: 'OSV-1',
          modified: '2024-01-01T00:00:00Z',
          summary: 'Cafe\u0301',
          aliases: ['b', 'a', 'b'],
          database_specific: { severity: 'moderate' },
        };
        const [advisory] = parseDocument(utf8(JSON.stringify(doc)), 'x.json').advisories;
        assert.equal(advisory.summary, 'Caf\u00e9');
        assert.deepEqual(advisory.aliases, ['a', 'b']);
        assert.equal(advisory.source, 'osv');
        assert.equal(advisory.severityLevel, 'MODERATE');
      });
    });
  });
});
