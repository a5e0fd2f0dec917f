import type { PolicyAction } from './policy-snapshot.js';
import type { PolicyDecision } from './evaluate-policy.js';

// How two evaluations of the same findings differ, grouped by the rule that decided before
// and the rule that decides after: "12 findings moved from rule block-critical (deny) to
// rule vex-cleared (allow)". Findings are paired by findingId.

export interface RuleChange {
  fromRule: string | null;
  toRule: string | null;
  fromDecision: PolicyAction | null;
  toDecision: PolicyAction | null;
  count: number;
  examples: { findingId: string; advisory: string; purl: string }[];
}

export interface DecisionDifferences {
  before: string | null;
  after: string | null;
  findings: number;
  changed: number;
  changes: RuleChange[];
}

type Decided = Pick<
  PolicyDecision,
  | 'findingId'
  | 'advisory'
  | 'purl'
  | 'decision'
  | 'ruleId'
  | 'riskScore'
  | 'rationale'
  | 'policyVersion'
>;

const EXAMPLES = 5;

export function explainDifferences(
  before: Iterable<Decided>,
  after: Iterable<Decided>,
): DecisionDifferences {
  const old = new Map<string, Decided>();
  for (const decision of before) old.set(decision.findingId, decision);

  const groups = new Map<string, RuleChange>();
  const seen = new Set<string>();
  let afterVersion: string | null = null;
  for (const decision of after) {
    afterVersion ??= decision.policyVersion;
    seen.add(decision.findingId);
    note(groups, old.get(decision.findingId), decision);
  }
  for (const [id, decision] of old) {
    if (!seen.has(id)) note(groups, decision, undefined);
  }
  const changes = [...groups.values()].sort(
    (a, b) => b.count - a.count || keyOf(a).localeCompare(keyOf(b)),
  );

  return {
    before: old.values().next().value?.policyVersion ?? null,
    after: afterVersion,
    findings: new Set([...old.keys(), ...seen]).size,
    changed: changes.reduce((sum, change) => sum + change.count, 0),
    changes,
  };
}

function note(groups: Map<string, RuleChange>, a: Decided | undefined, b: Decided | undefined) {
  if (a && b && sameOutcome(a, b)) {
    return;
  }
  const change: RuleChange = {
    fromRule: a?.ruleId ?? null,
    toRule: b?.ruleId ?? null,
    fromDecision: a?.decision ?? null,
    toDecision: b?.decision ?? null,
    count: 0,
    examples: [],
  };
  const key = keyOf(change);
  const group = groups.get(key) ?? change;
  groups.set(key, group);
  group.count += 1;
  if (group.examples.length < EXAMPLES) {
    const source = (b ?? a)!;
    group.examples.push({
      findingId: source.findingId,
      advisory: source.advisory,
      purl: source.purl,
    });
  }
}

function sameOutcome(a: Decided, b: Decided): boolean {
  return (
    a.decision === b.decision &&
    a.ruleId === b.ruleId &&
    a.riskScore === b.riskScore &&
    a.rationale === b.rationale
  );
}

function keyOf(
  change: Pick<RuleChange, 'fromRule' | 'toRule' | 'fromDecision' | 'toDecision'>,
): string {
  return [change.fromRule, change.fromDecision, change.toRule, change.toDecision].join('\u0000');
}

export function describeDifferences(diff: DecisionDifferences): string {
  const versions = `${diff.before} → ${diff.after}`;
  const lines = [`${diff.changed} of ${diff.findings} findings decided differently (${versions})`];
  for (const change of diff.changes) {
    const from = change.fromRule ? `${change.fromRule} (${change.fromDecision})` : 'no finding';
    const to = change.toRule ? `${change.toRule} (${change.toDecision})` : 'no finding';
    lines.push(`  ${change.count} × rule ${from} → rule ${to}`);
    for (const example of change.examples) {
      lines.push(`      e.g. ${example.advisory} in ${example.purl}`);
    }
  }

  return lines.join('\n');
}
