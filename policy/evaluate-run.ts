import { createHash, type Hash } from 'node:crypto';
import { canonicalJson } from '../bundle/canonical-json.js';
import { consensusLine, consensusRecords } from '../consensus/consensus-records.js';
import type { VexStatementRef } from '../consensus/vex-consensus.js';
import { versionedRef } from '../consensus/vex-versions.js';
import type { NormalizedVexStatement } from '../domain/records.js';
import {
  compilePolicy,
  evaluateFinding,
  type CompiledPolicy,
  type EvaluationContext,
} from './evaluate-policy.js';
import type { FindingInput } from './finding-input.js';
import { statementRef } from './finding-matcher.js';
import { parsePolicySnapshot } from './policy-snapshot.js';

// A whole run's evaluation, shared by the json:policy adapter and `stella export replay`:
// both read the same inputs (the policy text, the run context, the finding inputs and the
// VEX lines) and so produce the same bytes.

export const CONTEXT_SCHEMA = 'stella.policy-context/v1';
export const EVALUATION_SCHEMA = 'stella.policy-evaluation/v1';
export const ENGINE = { name: 'stella.policy-engine', version: '1.0.0' };

// inputs/context.json: what the evaluation reads besides the finding and VEX lines.
export interface RunContext {
  schema: typeof CONTEXT_SCHEMA;
  policyVersion: string;
  policySha256: string;
  asOf: string | null;
  traces: boolean;
}

// policy/evaluation.json: the outcome a reader checks first.
export interface EvaluationSummary {
  schema: typeof EVALUATION_SCHEMA;
  engine: typeof ENGINE;
  policyVersion: string;
  policySha256: string;
  asOf: string | null;
  inputsHash: string;
  decisionsSha256: string;
  counts: { findings: number; allow: number; warn: number; deny: number };
  rules: Record<string, number>;
}

export function evaluationContextOf(run: RunContext): EvaluationContext {
  return {
    policyVersion: run.policyVersion,
    policySha256: run.policySha256,
    ...(run.asOf ? { asOf: run.asOf } : {}),
    traces: run.traces,
  };
}

export function compilePolicyText(text: string): CompiledPolicy {
  return compilePolicy(parsePolicySnapshot(text));
}

// A VEX JSONL line (as ingest stored it) → what consensus reads; its ref is the line's hash.
export function vexRefOfLine(line: string): VexStatementRef {
  const record = JSON.parse(line) as NormalizedVexStatement & { documentSha256: string };

  return statementRef(record, record.documentSha256, sha256Text(line));
}

// The votes a line casts in consensus records: the statement itself, or one vote per entry
// of its per-version states (an entry with status unknown casts none).
export function consensusRefsOfLine(line: string): VexStatementRef[] {
  const ref = vexRefOfLine(line);
  const { versions } = JSON.parse(line) as NormalizedVexStatement;
  if (!versions?.length) {
    return [ref];
  }

  return versions.flatMap((state) => versionedRef(ref, state) ?? []);
}

export function consensusText(vexLines: string[], policy: CompiledPolicy): string {
  const records = consensusRecords(vexLines.flatMap(consensusRefsOfLine), policy.snapshot.vex);

  return records.map((record) => consensusLine(record) + '\n').join('');
}

// Evaluates finding input lines in order and keeps what the summary needs. The inputs hash
// is sha256 of the canonical {asOf, policySha256, findings, vex}, where findings and vex
// are the sha256 of the input lines as written (each followed by '\n').
export class RunEvaluation {
  private readonly findingsHash = createHash('sha256');
  private readonly vexHash = createHash('sha256');
  private readonly decisionsHash = createHash('sha256');
  private readonly counts = { findings: 0, allow: 0, warn: 0, deny: 0 };
  private readonly rules: Record<string, number> = {};
  private readonly context: EvaluationContext;

  constructor(
    private readonly policy: CompiledPolicy,
    private readonly run: RunContext,
    vexLines: string[],
  ) {
    this.context = evaluationContextOf(run);
    vexLines.forEach((line) => this.vexHash.update(line + '\n'));
  }

  async *decisionLines(inputLines: AsyncIterable<string>): AsyncGenerator<string> {
    for await (const line of inputLines) {
      yield this.decide(line);
    }
  }

  decide(inputLine: string): string {
    this.findingsHash.update(inputLine + '\n');
    const decision = evaluateFinding(
      this.policy,
      JSON.parse(inputLine) as FindingInput,
      this.context,
      inputLine,
    );
    const line = canonicalJson(decision);
    this.decisionsHash.update(line + '\n');
    this.counts.findings += 1;
    this.counts[decision.decision] += 1;
    this.rules[decision.ruleId] = (this.rules[decision.ruleId] ?? 0) + 1;

    return line;
  }

  summary(): EvaluationSummary {
    const inputs = {
      asOf: this.run.asOf,
      findings: digest(this.findingsHash),
      policySha256: this.run.policySha256,
      vex: digest(this.vexHash),
    };

    return {
      schema: EVALUATION_SCHEMA,
      engine: ENGINE,
      policyVersion: this.run.policyVersion,
      policySha256: this.run.policySha256,
      asOf: this.run.asOf,
      inputsHash: sha256Text(canonicalJson(inputs)),
      decisionsSha256: digest(this.decisionsHash),
      counts: { ...this.counts },
      rules: Object.fromEntries(Object.entries(this.rules).sort(([a], [b]) => (a < b ? -1 : 1))),
    };
  }
}

function digest(hash: Hash): string {
  return hash.copy().digest('hex');
}

export function sha256Text(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
