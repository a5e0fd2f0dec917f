import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { canonicalJson } from '../../../bundle/canonical-json.js';
import {
  compilePolicy,
  evaluateFinding,
  type EvaluationContext,
} from '../../../policy/evaluate-policy.js';
import { FINDING_INPUT_SCHEMA, type FindingInput } from '../../../policy/finding-input.js';
import { parsePolicySnapshot, type PolicySnapshot } from '../../../policy/policy-snapshot.js';
import { FIXTURES } from '../../support/export-stack.js';

const context: EvaluationContext = {
  policyVersion: 'pol-v1.0.0',
  policySha256: 'a'.repeat(64),
  asOf: '2024-10-01T00:00:00Z',
};

function finding(
  overrides: {
    advisory?: Partial<FindingInput['advisory']>;
    match?: FindingInput['match'];
    vex?: FindingInput['vex'];
  } = {},
): FindingInput {
  return {
    schema: FINDING_INPUT_SCHEMA,
    findingId: 'f1',
    sbom: { documentSha256: 'b'.repeat(64), subject: 'app' },
    component: {
      ordinal: 0,
      purl: 'pkg:npm/lodash@4.17.15',
      name: 'lodash',
      version: '4.17.15',
      ecosystem: 'npm',
      package: 'lodash',
    },
    advisory: {
      id: 'GHSA-p6mc-m468-83gw',
      aliases: ['CVE-2020-8203'],
      source: 'ghsa',
      documentSha256: 'c'.repeat(64),
      severity: 'HIGH',
      cvss: { score: 7.4, vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H' },
      published: '2020-07-15T19:15:48Z',
      flags: [],
      ...overrides.advisory,
    },
    match: overrides.match ?? { range: '>=3.7.0 <4.17.19', fixedIn: '4.17.19' },
    vex: overrides.vex ?? [],
  };
}

async function fixturePolicy(): Promise<PolicySnapshot> {
  return parsePolicySnapshot(
    await readFile(path.join(FIXTURES, 'policies', 'pol-v1.0.0.yaml'), 'utf8'),
  );
}

function policyWith(rules: PolicySnapshot['rules']): PolicySnapshot {
  return {
    schema: 'stella.policy/v1',
    version: 'pol-v0.0.1',
    name: 'test',
    vex: { defaultWeight: 0.5, issuers: [] },
    rules,
    default: { action: 'warn', riskScore: 50, rationale: 'no rule for {{advisory}}' },
  };
}

function rule(
  id: string,
  when: PolicySnapshot['rules'][number]['when'],
): PolicySnapshot['rules'][number] {
  return {
    id,
    when,
    action: 'deny',
    riskScore: 70,
    rationale: '{{rule}}: {{advisory}} {{ageDays}}d {{flags}}',
  };
}

describe('evaluateFinding', () => {
  describe('when several rules match', () => {
    it('returns the decision of the first in document order, with its rendered rationale', async () => {
      const decision = evaluateFinding(compilePolicy(await fixturePolicy()), finding(), context);

      assert.equal(decision.decision, 'deny');
      assert.equal(decision.ruleId, 'high-fixable');
      assert.equal(decision.riskScore, 80);
      assert.equal(
        decision.rationale,
        'GHSA-p6mc-m468-83gw (HIGH) affects pkg:npm/lodash@4.17.15 (>=3.7.0 <4.17.19); upgrade to 4.17.19',
      );
    });
  });

  describe('when no rule matches', () => {
    it('returns the default outcome under rule id "default"', async () => {
      const decision = evaluateFinding(
        compilePolicy(await fixturePolicy()),
        finding({ advisory: { severity: 'UNKNOWN' } }),
        context,
      );

      assert.deepEqual(
        [decision.decision, decision.ruleId, decision.riskScore],
        ['warn', 'default', 50],
      );
      assert.equal(
        decision.rationale,
        'GHSA-p6mc-m468-83gw affects pkg:npm/lodash@4.17.15 and matched no rule',
      );
    });
  });

  describe('when the finding carries VEX statements', () => {
    it('returns the decision for the consensus status', async () => {
      const statement = {
        ref: 'd'.repeat(64),
        documentSha256: 'e'.repeat(64),
        vulnerability: 'CVE-2020-8203',
        product: 'pkg:npm/lodash@4.17.15',
        status: 'not_affected' as const,
        justification: 'vulnerable_code_not_present',
      };
      const decision = evaluateFinding(
        compilePolicy(await fixturePolicy()),
        finding({ vex: [statement] }),
        context,
      );

      assert.deepEqual(
        [decision.decision, decision.ruleId, decision.vexStatus],
        ['allow', 'vex-cleared', 'not_affected'],
      );
    });
  });

  describe('conditions', () => {
    const cases: [
      string,
      PolicySnapshot['rules'][number]['when'],
      Parameters<typeof finding>[0],
      boolean,
    ][] = [
      ['cvss gte holds', { cvss: { gte: 7 } }, {}, true],
      ['cvss gte fails', { cvss: { gte: 9 } }, {}, false],
      [
        'cvss without a score fails',
        { cvss: { lt: 10 } },
        { advisory: { cvss: undefined } },
        false,
      ],
      ['ecosystem ignores case', { ecosystems: ['NPM'] }, {}, true],
      ['package glob on the purl', { packages: ['pkg:npm/lod*'] }, {}, true],
      ['package name of another', { packages: ['minimist'] }, {}, false],
      ['advisory by alias', { advisories: ['CVE-2020-8203'] }, {}, true],
      ['no fix available', { fixAvailable: false }, { match: { range: '>=0' } }, true],
      ['no VEX is none', { vexStatus: ['none'] }, {}, true],
      ['age from the evidence clock', { ageDays: { gte: 1538, lt: 1539 } }, {}, true],
      [
        'age without published date',
        { ageDays: { gte: 0 } },
        { advisory: { published: undefined } },
        false,
      ],
      [
        'all flags present',
        { flags: ['kev', 'exploit'] },
        { advisory: { flags: ['exploit', 'kev'] } },
        true,
      ],
      ['a flag missing', { flags: ['kev'] }, { advisory: { flags: ['exploit'] } }, false],
    ];
    for (const [name, when, overrides, holds] of cases) {
      it(`returns ${holds ? 'the rule' : 'the default'} when ${name}`, () => {
        const decision = evaluateFinding(
          compilePolicy(policyWith([rule('r', when)])),
          finding(overrides),
          context,
        );

        assert.equal(decision.ruleId, holds ? 'r' : 'default');
      });
    }
  });

  describe('with traces asked for', () => {
    it('returns, per rule tried, the conditions that failed', () => {
      const policy = compilePolicy(
        policyWith([
          rule('a', { severity: ['CRITICAL'], fixAvailable: true }),
          rule('b', { ecosystems: ['npm'] }),
        ]),
      );
      const decision = evaluateFinding(policy, finding(), { ...context, traces: true });

      assert.deepEqual(decision.trace, [
        { rule: 'a', matched: false, failed: ['severity'] },
        { rule: 'b', matched: true, failed: [] },
      ]);
      assert.equal(decision.rationale, 'b: GHSA-p6mc-m468-83gw 1538d none');
    });
  });

  describe('determinism', () => {
    it('returns the same decision and fingerprint for the same inputs, another for other inputs', async () => {
      const policy = compilePolicy(await fixturePolicy());
      const [a, b] = [
        evaluateFinding(policy, finding(), context),
        evaluateFinding(policy, finding(), context),
      ];
      const later = evaluateFinding(policy, finding(), {
        ...context,
        asOf: '2024-10-02T00:00:00Z',
      });
      const other = evaluateFinding(
        policy,
        finding({ match: { range: '>=0 <4.17.19', fixedIn: '4.17.19' } }),
        context,
      );

      const expected = createHash('sha256')
        .update(
          canonicalJson({
            asOf: context.asOf,
            finding: finding(),
            policySha256: context.policySha256,
          }),
        )
        .digest('hex');

      assert.deepEqual(a, b);
      assert.equal(a.inputsFingerprint, expected);
      assert.match(a.inputsFingerprint, /^[0-9a-f]{64}$/);
      assert.notEqual(later.inputsFingerprint, a.inputsFingerprint);
      assert.notEqual(other.inputsFingerprint, a.inputsFingerprint);
    });
  });
});
