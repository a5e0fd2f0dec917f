import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';

import type { NormalizedAdvisory } from '../../../domain/records.js';
import { readBboltTree } from '../../../bbolt/reader.js';
import type { BboltEntry } from '../../../bbolt/tree.js';
import { TRIVY_MAPPING_VERSION, buildTrivyDb } from '../../../adapters/trivy/build-trivy-db.js';

const dir = mkdtempSync(join(tmpdir(), 'trivy-db-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const now = new Date('2026-09-01T00:00:00Z');
let outNumber = 0;

function advisory(overrides: Partial<NormalizedAdvisory>): NormalizedAdvisory {
  return {
    id: 'GHSA-35jh-r3h4-6jhm',
    aliases: ['CVE-2021-23337'],
    source: 'ghsa',
    summary: 'Command Injection in lodash',
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H' }],
    severityLevel: 'HIGH',
    cwes: ['CWE-94', 'CWE-77'],
    references: [{ type: 'ADVISORY', url: 'https://github.com/advisories/GHSA-35jh-r3h4-6jhm' }],
    affected: [
      {
        ecosystem: 'npm',
        name: 'lodash',
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '4.17.21' }] }],
        versions: [],
        fixed: ['4.17.21'],
      },
    ],
    published: '2021-05-06T16:05:51Z',
    ...overrides,
  };
}

async function* iterate(items: NormalizedAdvisory[]): AsyncGenerator<NormalizedAdvisory> {
  yield* items;
}

async function build(items: NormalizedAdvisory[], sortBufferBytes?: number) {
  const outDir = join(dir, `out${outNumber++}`);
  const result = await buildTrivyDb({ advisories: iterate(items), outDir, now, sortBufferBytes });

  return { outDir, result, tree: readBboltTree(join(outDir, 'trivy.db')).buckets };
}

// bucket path → JSON value, for readable assertions
function flatten(entries: BboltEntry[], prefix: string[] = []): Record<string, unknown> {
  return Object.assign(
    {},
    ...entries.map((e) => {
      const path = [...prefix, e.key.toString('utf8')];
      if (e.kind === 'bucket')
        return e.entries.length > 0 ? flatten(e.entries, path) : { [path.join(' / ')]: {} };

      return { [path.join(' / ')]: JSON.parse(e.value.toString('utf8')) };
    }),
  );
}

const NPM_BUCKET = 'npm::GitHub Security Advisory npm';

describe('buildTrivyDb', () => {
  describe('when given one GHSA advisory with a CVE alias', () => {
    it('returns a DB keyed by the CVE with the GHSA ID as vendor ID', async () => {
      const { tree, result } = await build([advisory({})]);

      assert.deepEqual(flatten(tree), {
        [`data-source / ${NPM_BUCKET}`]: {
          ID: 'ghsa',
          Name: 'GitHub Security Advisory npm',
          URL: 'https://github.com/advisories?query=type%3Areviewed+ecosystem%3Anpm',
        },
        [`${NPM_BUCKET} / lodash / CVE-2021-23337`]: {
          VendorIDs: ['GHSA-35jh-r3h4-6jhm'],
          VulnerableVersions: ['<4.17.21'],
          PatchedVersions: ['4.17.21'],
        },
        'vulnerability / CVE-2021-23337': {
          Title: 'Command Injection in lodash',
          Severity: 'HIGH',
          CweIDs: ['CWE-77', 'CWE-94'],
          VendorSeverity: { ghsa: 3 },
          CVSS: {
            ghsa: { V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', V3Score: 7.2 },
          },
          References: ['https://github.com/advisories/GHSA-35jh-r3h4-6jhm'],
          PublishedDate: '2021-05-06T16:05:51Z',
        },
      });
      assert.deepEqual(result.counts, { 'data-source': 1, [NPM_BUCKET]: 1, vulnerability: 1 });
      assert.equal(result.mappingVersion, TRIVY_MAPPING_VERSION);
    });
  });

  describe('when an advisory has no CVE alias', () => {
    it('returns entries keyed by the advisory ID, other aliases as vendor IDs', async () => {
      const goAffected = {
        ecosystem: 'Go',
        name: 'golang.org/x/Text',
        ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '0.3.7' }] }],
        versions: [],
        fixed: ['0.3.7'],
      };
      const go = advisory({
        id: 'GO-2099-0001',
        aliases: ['GHSA-aaaa-bbbb-cccc'],
        source: 'govulndb',
        affected: [goAffected],
      });
      const flat = flatten((await build([go])).tree);

      assert.deepEqual(
        flat['go::The Go Vulnerability Database / golang.org/x/Text / GO-2099-0001'],
        {
          VendorIDs: ['GHSA-aaaa-bbbb-cccc'],
          VulnerableVersions: ['<0.3.7'],
          PatchedVersions: ['0.3.7'],
        },
      );
      assert.ok('vulnerability / GO-2099-0001' in flat);
    });
  });

  describe('when PyPI names differ in case and underscores', () => {
    it('returns one package bucket under the name Trivy normalises to', async () => {
      const pypi = (id: string, name: string) =>
        advisory({
          id,
          aliases: [],
          affected: [
            {
              ecosystem: 'PyPI',
              name,
              ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.0' }] }],
              versions: [],
              fixed: ['2.0'],
            },
          ],
        });
      const { tree } = await build([
        pypi('GHSA-aaaa-aaaa-aaaa', 'Typing_Extensions'),
        pypi('GHSA-bbbb-bbbb-bbbb', 'typing-extensions'),
      ]);

      assert.deepEqual(
        Object.keys(flatten(tree)).filter((k) => k.startsWith('pip::')),
        [
          'pip::GitHub Security Advisory pip / typing-extensions / GHSA-aaaa-aaaa-aaaa',
          'pip::GitHub Security Advisory pip / typing-extensions / GHSA-bbbb-bbbb-bbbb',
        ],
      );
    });
  });

  describe('when advisories are withdrawn or name ecosystems Trivy has no bucket for', () => {
    it('returns them counted in skipped and leaves them out', async () => {
      const debian = advisory({
        id: 'DSA-1',
        aliases: [],
        source: 'osv',
        affected: [
          { ecosystem: 'Debian:12', name: 'openssl', ranges: [], versions: ['1.0'], fixed: [] },
        ],
      });
      const { tree, result } = await build([
        advisory({ withdrawn: '2024-01-01T00:00:00Z' }),
        debian,
      ]);

      assert.deepEqual(result.skipped, { withdrawn: 1, 'ecosystem:Debian:12': 1 });
      assert.deepEqual(flatten(tree), { 'data-source': {}, vulnerability: {} });
      assert.deepEqual(result.counts, { 'data-source': 0, vulnerability: 0 });
    });
  });

  describe('when an advisory carries a severity type Trivy cannot store', () => {
    it('throws schema_mismatch naming the advisory and the field', async () => {
      const odd = advisory({ severity: [{ type: 'Ubuntu', score: 'high' }] });

      await assert.rejects(build([odd]), {
        code: 'schema_mismatch',
        message: /GHSA-35jh-r3h4-6jhm.*severity\[0\]\.type/,
      });
    });
  });

  describe('when a GHSA and a PYSEC record share a CVE', () => {
    it('returns one vulnerability record with both sources and the GHSA texts', async () => {
      const ghsa = advisory({
        id: 'GHSA-68w8-qjq3-2gfm',
        aliases: ['CVE-2021-33203'],
        severityLevel: 'MODERATE',
        summary: 'From GHSA',
      });
      const pysec = advisory({
        id: 'PYSEC-2021-98',
        aliases: ['CVE-2021-33203', 'GHSA-68w8-qjq3-2gfm'],
        source: 'pypa',
        summary: undefined,
        details: 'From PyPA',
        severity: [],
        severityLevel: undefined,
        references: [{ type: 'WEB', url: 'https://a.example/' }],
      });
      const { tree } = await build([pysec, ghsa]);
      const detail = flatten(tree)['vulnerability / CVE-2021-33203'] as Record<string, unknown>;

      assert.equal(detail.Title, 'From GHSA');
      assert.equal(detail.Description, 'From PyPA');
      assert.equal(detail.Severity, 'MEDIUM');
      assert.deepEqual(detail.VendorSeverity, { ghsa: 2 });
      assert.deepEqual(detail.References, [
        'https://a.example/',
        'https://github.com/advisories/GHSA-35jh-r3h4-6jhm',
      ]);
    });
  });

  describe('when the same input arrives in another order with a tiny sort budget', () => {
    it('returns byte-identical trivy.db, metadata.json and db.tar.gz', async () => {
      const many = Array.from({ length: 300 }, (_, i) =>
        advisory({
          id: `GHSA-${String(i).padStart(4, '0')}-xxxx-yyyy`,
          aliases: [`CVE-2020-${10000 + (i % 170)}`],
        }),
      );
      const first = await build(many);
      const second = await build([...many].reverse(), 4096);

      assert.deepEqual(second.result.files, first.result.files);
      assert.equal(first.result.counts.vulnerability, 170);
    });
  });

  describe('when the archive is unpacked', () => {
    it('returns trivy.db and metadata.json at the root with fixed owners and mtime', async () => {
      const { outDir } = await build([advisory({})]);
      const tar = gunzipSync(readFileSync(join(outDir, 'db.tar.gz')));
      const header = (at: number) => ({
        name: tar
          .subarray(at, at + 100)
          .toString('utf8')
          .replace(/\0.*$/s, ''),
        mode: parseInt(tar.subarray(at + 100, at + 107).toString(), 8),
        uid: parseInt(tar.subarray(at + 108, at + 115).toString(), 8),
        mtime: parseInt(tar.subarray(at + 136, at + 147).toString(), 8),
      });
      const dbSize = readFileSync(join(outDir, 'trivy.db')).length;

      assert.deepEqual(header(0), {
        name: 'trivy.db',
        mode: 0o644,
        uid: 0,
        mtime: now.getTime() / 1000,
      });
      assert.equal(header(512 + dbSize).name, 'metadata.json');
      assert.deepEqual(JSON.parse(readFileSync(join(outDir, 'metadata.json'), 'utf8')), {
        Version: 2,
        NextUpdate: '2026-09-02T00:00:00Z',
        UpdatedAt: '2026-09-01T00:00:00Z',
        DownloadedAt: '0001-01-01T00:00:00Z',
      });
    });
  });
});
