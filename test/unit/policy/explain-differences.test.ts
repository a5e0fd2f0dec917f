import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeDifferences, explainDifferences } from '../../../policy/explain-differences.js';
import type { PolicyAction } from '../../../policy/policy-snapshot.js';

function decision(findingId: string, ruleId: string, action: PolicyAction, policyVersion: string) {
  return {
    findingId,
    advisory: `GHSA-${findingId}`,
    purl: 'pkg:npm/x@1',
    decision: action,
    ruleId,
    riskScore: 10,
    rationale: 'r',
    policyVersion,
  };
}

describe('explainDifferences', () => {
  describe('when a newer version moves findings between rules', () => {
    it('returns one group per (rule, decision) pair, largest first, unchanged findings left out', () => {
      const before = [
        decision('a', 'high', 'deny', 'v1'),
        decision('b', 'high', 'deny', 'v1'),
        decision('c', 'low', 'warn', 'v1'),
      ];
      const after = [
        decision('a', 'accept', 'allow', 'v2'),
        decision('b', 'accept', 'allow', 'v2'),
        decision('c', 'low', 'warn', 'v2'),
      ];
      const diff = explainDifferences(before, after);

      assert.deepEqual([diff.before, diff.after, diff.findings, diff.changed], ['v1', 'v2', 3, 2]);
      assert.deepEqual(
        diff.changes.map((c) => [c.fromRule, c.fromDecision, c.toRule, c.toDecision, c.count]),
        [['high', 'deny', 'accept', 'allow', 2]],
      );
      assert.equal(
        describeDifferences(diff).split('\n')[1],
        '  2 × rule high (deny) → rule accept (allow)',
      );
    });
  });

  describe('when a finding exists on one side only', () => {
    it('returns it with a null rule on the other side', () => {
      const diff = explainDifferences(
        [decision('a', 'high', 'deny', 'v1')],
        [decision('b', 'high', 'deny', 'v1')],
      );

      assert.deepEqual(diff.changes.map((c) => [c.fromRule, c.toRule]).sort(), [
        [null, 'high'],
        ['high', null],
      ]);
    });
  });
});
