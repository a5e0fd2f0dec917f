import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { versionStateFor, versionVote } from '../../../consensus/vex-versions.js';
import { parseDocument } from '../../../ingest/parse-document.js';
import type { NormalizedVexStatement, VexStatus, VexVersionStatus } from '../../../domain/records.js';
import { compilePolicyText } from '../../../policy/evaluate-run.js';
import { factsOf } from '../../../policy/evaluate-policy.js';
import type { FindingInput } from '../../../policy/finding-input.js';
import { VexIndex } from '../../../policy/finding-matcher.js';
import { comparerFor } from '../../../policy/version-compare/comparer-for.js';
import { versRangeContains } from '../../../policy/version-compare/vers-range.js';
import { sha256Hex, vexLine } from '../../../store/evidence-store.js';
import { EVIDENCE } from '../../support/export-stack.js';

const generic = comparerFor('RubyGems')!;
const maven = comparerFor('Maven')!;

describe('versRangeContains', () => {
  describe('when given the CISA Case-7 ranges', () => {
    it('returns true inside >=2.9|<=4.1, bounds included, and false outside', () => {
      const range = 'vers:generic/>=2.9|<=4.1';
      const answers = ['2.8', '2.9', '3.0', '4.1', '4.2'].map((v) =>
        versRangeContains(range, v, generic),
      );

      assert.deepEqual(answers, [false, true, true, true, false]);
    });
  });

  describe('when a range mixes an equality with an upper bound (CycloneDX 1.6 example)', () => {
    it('returns true for the equal version and everything below the bound', () => {
      const range = 'vers:semver/2.9.0|<2.9.5';
      const answers = ['2.9.0', '2.9.4', '2.9.5', '2.10.0'].map((v) =>
        versRangeContains(range, v, maven),
      );

      assert.deepEqual(answers, [true, true, false, false]);
    });
  });

  describe('when a range excludes a version or names every version', () => {
    it('returns false for the excluded one and true for *', () => {
      assert.equal(versRangeContains('vers:npm/>=1.0.0|!=1.2.0|<2.0.0', '1.2.0', generic), false);
      assert.equal(versRangeContains('vers:npm/>=1.0.0|!=1.2.0|<2.0.0', '1.3.0', generic), true);
      assert.equal(versRangeContains('vers:npm/*', '9.9.9', generic), true);
    });
  });

  describe('when the range is not a vers expression', () => {
    it('returns null rather than an answer', () => {
      assert.equal(versRangeContains('>=1.0', '1.0', generic), null);
      assert.equal(versRangeContains('vers:npm/', '1.0', generic), null);
    });
  });
});

describe('versionVote', () => {
  describe('when the entry is unaffected, affected or unknown', () => {
    it('returns not_affected, the analysis status, or no vote', () => {
      const vote = (stated: VexStatus, status: VexVersionStatus) =>
        versionVote(stated, { version: '1', status });

      assert.equal(vote('affected', 'unaffected'), 'not_affected');
      assert.equal(vote('fixed', 'affected'), 'fixed');
      assert.equal(vote('not_affected', 'affected'), 'not_affected');
      assert.equal(vote('affected', 'unknown'), null);
    });
  });
});

describe('versionStateFor', () => {
  describe('when entries are versions and ranges (CISA Case-7, product ABC, not_affected)', () => {
    const states = [
      { range: 'vers:generic/>=1.0|<=2.3', status: 'unaffected' as const },
      { version: '2.5', status: 'unaffected' as const },
    ];

    it('returns the entry holding the version, by order or by equality', () => {
      assert.deepEqual(versionStateFor(states, '2.0', generic), states[0]);
      assert.deepEqual(versionStateFor(states, '2.5.0', generic), states[1]);
    });

    it('returns null for a version no entry holds', () => {
      assert.equal(versionStateFor(states, '2.4', generic), null);
    });
  });
});

// The CycloneDX 1.6 specification example: jackson-databind 2.9.4 not_affected
// (code_not_reachable), with the library's affected ranges listed per version.
describe('VexIndex.statementsFor a statement with per-version states', () => {
  const PURL = 'pkg:maven/com.fasterxml.jackson.core/jackson-databind';
  const IDS = ['SNYK-JAVA-COMFASTERXMLJACKSONCORE-32111'];
  let index: VexIndex;

  before(async () => {
    const file = 'sboms/cyclonedx/cyclonedx-spec-tests/valid-vulnerability-1.6.json';
    const bytes = await readFile(path.join(EVIDENCE, file));
    const sha = sha256Hex(bytes);
    index = new VexIndex();
    for (const statement of parseDocument(bytes, file).vexStatements as NormalizedVexStatement[]) {
      // The ref names the product without version so that every version is asked about.
      const unversioned = { ...statement, product: PURL };
      index.add(unversioned, sha, sha256Hex(vexLine(unversioned, sha)));
    }
  });

  const statusesAt = (version: string) =>
    index
      .statementsFor(IDS, { purl: `${PURL}@${version}`, version, comparer: maven }, 'app')
      .map((ref) => [ref.status, ref.justification ?? null, ref.versionState?.range]);

  describe('when the component version is in an affected range', () => {
    it('returns the analysis status with its justification and the entry it read', () => {
      assert.deepEqual(statusesAt('2.9.4'), [
        ['not_affected', 'code_not_reachable', 'vers:semver/2.9.0|<2.9.5'],
      ]);
    });
  });

  describe('when no entry holds the component version', () => {
    it('returns no statement', () => {
      assert.deepEqual(statusesAt('2.9.5'), []);
    });
  });

  describe('when the policy evaluates the finding', () => {
    it('returns the vote as the vexStatus a rule matches on', () => {
      const policy = compilePolicyText(
        [
          'schema: stella.policy/v1',
          'version: pol-v1.0.0',
          'name: versions',
          'rules: []',
          'default: { action: warn, riskScore: 10, rationale: "{{vexStatus}}" }',
        ].join('\n'),
      );
      const vexAt = (version: string) =>
        index.statementsFor(IDS, { purl: `${PURL}@${version}`, version, comparer: maven }, 'app');
      const statusOf = (version: string) =>
        factsOf(policy, { vex: vexAt(version), advisory: {} } as unknown as FindingInput, {
          policyVersion: 'pol-v1.0.0',
          policySha256: '0'.repeat(64),
        }).vexStatus;

      assert.deepEqual([statusOf('2.9.4'), statusOf('2.9.5')], ['not_affected', 'none']);
    });
  });
});
