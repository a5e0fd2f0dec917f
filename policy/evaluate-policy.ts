import { createHash } from 'node:crypto';
import { canonicalJson } from '../bundle/canonical-json.js';
import { consensusOf } from '../consensus/vex-consensus.js';
import type { FindingInput } from './finding-input.js';
import type {
  NumericBounds,
  PolicyAction,
  PolicyConditions,
  PolicyOutcome,
  PolicySnapshot,
  VexCondition,
} from './policy-snapshot.js';

// The policy engine: a pure function of (policy, finding input, asOf). No clock, no
// randomness, no I/O; rules are tried in document order and the first whose conditions all
// hold decides, else the policy's default does.

export const DECISION_SCHEMA = 'stella.policy-decision/v1';
export const DEFAULT_RULE_ID = 'default';

export interface EvaluationContext {
  policyVersion: string;
  policySha256: string;
  // The evidence clock (see AdvisoryIndex.asOf); without it no ageDays condition holds.
  asOf?: string;
  traces?: boolean;
}

export interface RuleTrace {
  rule: string;
  matched: boolean;
  // The conditions that did not hold, in the order the format lists them.
  failed: string[];
}

export interface PolicyDecision {
  schema: typeof DECISION_SCHEMA;
  findingId: string;
  sbom: string;
  purl: string;
  advisory: string;
  policyVersion: string;
  decision: PolicyAction;
  ruleId: string;
  riskScore: number;
  rationale: string;
  vexStatus: VexCondition;
  inputsFingerprint: string;
  trace?: RuleTrace[];
}

// What conditions read, derived once per finding.
export interface FindingFacts {
  input: FindingInput;
  vexStatus: VexCondition;
  ageDays?: number;
}

type Check = (facts: FindingFacts) => boolean;

interface CompiledRule extends PolicyOutcome {
  id: string;
  checks: { name: string; check: Check }[];
}

export interface CompiledPolicy {
  snapshot: PolicySnapshot;
  rules: CompiledRule[];
}

export function compilePolicy(snapshot: PolicySnapshot): CompiledPolicy {
  return {
    snapshot,
    rules: snapshot.rules.map((rule) => ({
      id: rule.id,
      action: rule.action,
      riskScore: rule.riskScore,
      rationale: rule.rationale,
      checks: compileConditions(rule.when),
    })),
  };
}

// `canonicalInput` is the input's canonical JSON when the caller already has it (a line of
// inputs/findings.jsonl.zst), which spares serializing it again for the fingerprint.
export function evaluateFinding(
  policy: CompiledPolicy,
  input: FindingInput,
  context: EvaluationContext,
  canonicalInput?: string,
): PolicyDecision {
  const facts = factsOf(policy, input, context);
  const trace: RuleTrace[] = [];
  const rule = policy.rules.find((candidate) => {
    const failed = candidate.checks.filter((c) => !c.check(facts)).map((c) => c.name);
    if (context.traces) {
      trace.push({ rule: candidate.id, matched: failed.length === 0, failed });
    }

    return failed.length === 0;
  });
  const outcome = rule ?? { id: DEFAULT_RULE_ID, ...policy.snapshot.default };

  return {
    schema: DECISION_SCHEMA,
    findingId: input.findingId,
    sbom: input.sbom.documentSha256,
    purl: input.component.purl,
    advisory: input.advisory.id,
    policyVersion: context.policyVersion,
    decision: outcome.action,
    ruleId: outcome.id,
    riskScore: outcome.riskScore,
    rationale: render(outcome.rationale, facts, outcome.id),
    vexStatus: facts.vexStatus,
    inputsFingerprint: inputsFingerprint(canonicalInput ?? canonicalJson(input), context),
    ...(context.traces ? { trace } : {}),
  };
}

// sha256 of the canonical form of everything the decision read:
// {"asOf":…,"finding":<canonical input>,"policySha256":…}, keys in JCS order. Built by
// concatenation, which is the same bytes as canonicalJson of that object.
export function inputsFingerprint(canonicalInput: string, context: EvaluationContext): string {
  const asOf = JSON.stringify(context.asOf ?? null);
  const policy = JSON.stringify(context.policySha256);
  const text = `{"asOf":${asOf},"finding":${canonicalInput},"policySha256":${policy}}`;

  return createHash('sha256').update(text).digest('hex');
}

export function factsOf(
  policy: CompiledPolicy,
  input: FindingInput,
  context: EvaluationContext,
): FindingFacts {
  const consensus = input.vex.length ? consensusOf(input.vex, policy.snapshot.vex) : undefined;
  const vexStatus = consensus && consensus.status !== 'unknown' ? consensus.status : 'none';
  const ageDays = daysBetween(input.advisory.published, context.asOf);

  return { input, vexStatus, ...(ageDays !== undefined ? { ageDays } : {}) };
}

function daysBetween(from: string | undefined, to: string | undefined): number | undefined {
  const [start, end] = [from ? Date.parse(from) : Number.NaN, to ? Date.parse(to) : Number.NaN];
  if (Number.isNaN(start) || Number.isNaN(end)) {
    return undefined;
  }

  return Math.floor((end - start) / 86_400_000);
}

function compileConditions(when: PolicyConditions): { name: string; check: Check }[] {
  const checks: { name: string; check: Check }[] = [];
  const add = (name: string, check: Check | undefined) => check && checks.push({ name, check });
  add('severity', when.severity && ((f) => when.severity!.includes(f.input.advisory.severity)));
  add('cvss', when.cvss && ((f) => within(f.input.advisory.cvss?.score, when.cvss!)));
  add('ecosystems', when.ecosystems && ecosystemCheck(when.ecosystems));
  add('packages', when.packages && packageCheck(when.packages));
  add('advisories', when.advisories && advisoryCheck(when.advisories));
  add(
    'fixAvailable',
    when.fixAvailable !== undefined
      ? (f) => (f.input.match.fixedIn !== undefined) === when.fixAvailable
      : undefined,
  );
  add('vexStatus', when.vexStatus && ((f) => when.vexStatus!.includes(f.vexStatus)));
  add('ageDays', when.ageDays && ((f) => within(f.ageDays, when.ageDays!)));
  add(
    'flags',
    when.flags && ((f) => when.flags!.every((flag) => f.input.advisory.flags.includes(flag))),
  );

  return checks;
}

function within(value: number | undefined, bounds: NumericBounds): boolean {
  if (value === undefined) {
    return false;
  }

  return (
    (bounds.gte === undefined || value >= bounds.gte) &&
    (bounds.gt === undefined || value > bounds.gt) &&
    (bounds.lt === undefined || value < bounds.lt) &&
    (bounds.lte === undefined || value <= bounds.lte)
  );
}

function ecosystemCheck(ecosystems: string[]): Check {
  const wanted = new Set(ecosystems.map((e) => e.toLowerCase()));

  return (f) => wanted.has(f.input.component.ecosystem.toLowerCase());
}

// Patterns match the package name (as the ecosystem compares it), the component name or
// the purl without version; '*' stands for any run of characters. Case is ignored.
function packageCheck(patterns: string[]): Check {
  const expressions = patterns.map(globExpression);

  return (f) => {
    const { component } = f.input;
    const purl = component.purl.replace(/[?#].*$/, '').replace(/@[^@/]*$/, '');
    const names = [component.package, component.name, purl];

    return expressions.some((e) => names.some((name) => e.test(name)));
  };
}

function globExpression(pattern: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));

  return new RegExp(`^${escaped.join('.*')}$`, 'i');
}

function advisoryCheck(ids: string[]): Check {
  const wanted = new Set(ids);

  return (f) => [f.input.advisory.id, ...f.input.advisory.aliases].some((id) => wanted.has(id));
}

function render(template: string, facts: FindingFacts, ruleId: string): string {
  const values = templateValues(facts, ruleId);

  return template.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_, name: string) => values[name] ?? '');
}

function templateValues(facts: FindingFacts, ruleId: string): Record<string, string> {
  const { advisory, component, match } = facts.input;

  return {
    advisory: advisory.id,
    aliases: advisory.aliases.join(', '),
    purl: component.purl,
    package: component.package,
    ecosystem: component.ecosystem,
    version: component.version,
    severity: advisory.severity,
    cvss: advisory.cvss ? String(advisory.cvss.score) : 'none',
    range: match.range,
    fixedIn: match.fixedIn ?? 'none',
    vexStatus: facts.vexStatus,
    ageDays: facts.ageDays !== undefined ? String(facts.ageDays) : 'unknown',
    flags: advisory.flags.join(', ') || 'none',
    rule: ruleId,
  };
}
