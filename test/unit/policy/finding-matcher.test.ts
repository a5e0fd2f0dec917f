import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { collectDocumentPaths } from '../../../ingest/collect-files.js';
import { parseDocument } from '../../../ingest/parse-document.js';
import { AdvisoryIndex, VexIndex } from '../../../policy/finding-matcher.js';
import { sha256Hex, vexLine } from '../../../store/evidence-store.js';
import { EVIDENCE, FIXTURES } from '../../support/export-stack.js';

const ADVISORIES = path.join(EVIDENCE, 'advisories');
const VEX = path.join(FIXTURES, 'policies', 'lodash-vex.openvex.json');

async function loadIndexes() {
  const advisories = new AdvisoryIndex();
  const vex = new VexIndex();
  for await (const file of collectDocumentPaths([ADVISORIES, VEX])) {
    const bytes = await readFile(file);
    const sha = sha256Hex(bytes);
    let parsed;
    try {
      parsed = parseDocument(bytes, file);
    } catch {
      continue; // EXPECTED.md and other notes
    }
    parsed.advisories.forEach((a) => advisories.add(a, sha));
    parsed.vexStatements.forEach((s) => vex.add(s, sha, sha256Hex(vexLine(s, sha))));
  }

  return { advisories, vex };
}

describe('AdvisoryIndex', () => {
  let indexes: Awaited<ReturnType<typeof loadIndexes>>;
  const idsFor = (purl: string, version?: string) =>
    indexes.advisories
      .findingsFor(
        {
          sbomSubject: 'app',
          sbomDocumentSha256: 'f'.repeat(64),
          ordinal: 0,
          purl,
          name: purl,
          version,
        },
        indexes.vex,
      )
      .map((f) => f.advisory.id);

  before(async () => {
    indexes = await loadIndexes();
  });

  describe('findingsFor the EXPECTED.md packages', () => {
    it('returns the npm advisories, ordered by id', () => {
      assert.deepEqual(idsFor('pkg:npm/lodash@4.17.15'), [
        'GHSA-29mw-wpgm-hmr9',
        'GHSA-35jh-r3h4-6jhm',
        'GHSA-p6mc-m468-83gw',
      ]);
      assert.deepEqual(idsFor('pkg:npm/minimist@1.2.0'), [
        'GHSA-vh95-rmgr-6w4m',
        'GHSA-xvch-5gv4-984h',
      ]);
      assert.deepEqual(idsFor('pkg:npm/axios@0.21.0'), [
        'GHSA-4w2v-q235-vp99',
        'GHSA-cph5-m8f7-6c5x',
        'GHSA-wf5p-g6vw-rhxx',
      ]);
      assert.equal(idsFor('pkg:npm/follow-redirects@1.13.0').length, 4);
    });

    it('returns 28 Django records (25 PYSEC, 3 GHSA), matching the name without regard to case', () => {
      const ids = idsFor('pkg:pypi/Django@3.2');

      assert.equal(ids.length, 28);
      assert.equal(ids.filter((id) => id.startsWith('GHSA-')).length, 3);
      assert.ok(!ids.includes('PYSEC-2021-6') && !ids.includes('GHSA-xgxc-v2qg-chmh'));
    });

    it('returns the four log4j-core advisories and not the log4j 1.x one', () => {
      const ids = idsFor('pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1');

      assert.deepEqual(ids, [
        'GHSA-7rjr-3q55-vv33',
        'GHSA-8489-44mv-ggj8',
        'GHSA-jfh8-c2jp-5v3q',
        'GHSA-p6xc-xr62-6r2g',
      ]);
    });

    it('returns GO-2026-5970 for x/text v0.3.5 (0.3.5 < 0.39.0 as numbers)', () => {
      assert.ok(idsFor('pkg:golang/golang.org/x/text@v0.3.5').includes('GO-2026-5970'));
      assert.equal(idsFor('pkg:golang/golang.org/x/text@v0.3.5').length, 5);
    });

    it('returns nothing for gin at v1.6.0 from GO-2020-0001, fixed exactly there', () => {
      assert.ok(!idsFor('pkg:golang/github.com/gin-gonic/gin@v1.6.0').includes('GO-2020-0001'));
      assert.ok(idsFor('pkg:golang/github.com/gin-gonic/gin@v1.4.0').includes('GO-2020-0001'));
    });
  });

  describe('findingsFor the cross-checks of EXPECTED.md', () => {
    it('returns lodash 4.17.19 without GHSA-p6mc and lodash 2.4.2 with the old ones', () => {
      assert.deepEqual(idsFor('pkg:npm/lodash@4.17.19'), [
        'GHSA-29mw-wpgm-hmr9',
        'GHSA-35jh-r3h4-6jhm',
      ]);
      assert.deepEqual(idsFor('pkg:npm/lodash@2.4.2'), [
        'GHSA-29mw-wpgm-hmr9',
        'GHSA-35jh-r3h4-6jhm',
        'GHSA-4xc9-xhrj-v574',
        'GHSA-jf85-cpcp-j695',
      ]);
    });

    it('returns minimist 0.2.1 with GHSA-xvch only', () => {
      assert.deepEqual(idsFor('pkg:npm/minimist@0.2.1'), ['GHSA-xvch-5gv4-984h']);
    });

    it('returns the x/text pseudo-version below 0.3.5 but above 0.3.3', () => {
      const ids = idsFor('pkg:golang/golang.org/x/text@v0.3.5-0.20201125200606-c27b9fd57aec');

      assert.deepEqual(ids, [
        'GHSA-69ch-w2m2-3vjp',
        'GHSA-ppp9-7jff-5vj2',
        'GO-2021-0113',
        'GO-2022-1059',
        'GO-2026-5970',
      ]);
    });
  });

  describe('findingsFor a component the matcher cannot compare', () => {
    it('returns nothing for no purl, an OS package or a missing version', () => {
      assert.deepEqual(idsFor('pkg:deb/debian/openssl@1.1.1'), []);
      assert.deepEqual(idsFor('pkg:npm/lodash'), []);
    });
  });

  describe('findingsFor a component a VEX statement names', () => {
    it('returns the statement with the finding of the aliased advisory only', () => {
      const findings = indexes.advisories.findingsFor(
        {
          sbomSubject: 'app',
          sbomDocumentSha256: 'f'.repeat(64),
          ordinal: 0,
          purl: 'pkg:npm/lodash@4.17.15',
          name: 'lodash',
        },
        indexes.vex,
      );
      const withVex = findings.filter((f) => f.vex.length > 0);

      assert.deepEqual(
        withVex.map((f) => f.advisory.id),
        ['GHSA-35jh-r3h4-6jhm'],
      );
      assert.equal(withVex[0].vex[0].status, 'not_affected');
      assert.equal(withVex[0].vex[0].issuer, 'Stella Fixture Vendor');
    });
  });

  describe('asOf', () => {
    it('returns the newest modified time of the indexed advisories', () => {
      assert.match(indexes.advisories.asOf() ?? '', /^\d{4}-\d{2}-\d{2}T/);
    });
  });
});
