import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readDataLines } from '../bundle/bundle-parts.js';
import { canonicalJson } from '../bundle/canonical-json.js';
import { StellaError } from '../domain/errors.js';
import { POLICY_BUNDLE_FILES as FILES } from './bundle-layout.js';
import type { PolicyDecision } from './evaluate-policy.js';
import {
  CONTEXT_SCHEMA,
  RunEvaluation,
  compilePolicyText,
  consensusText,
  sha256Text,
  type RunContext,
} from './evaluate-run.js';
import { explainDifferences, type DecisionDifferences } from './explain-differences.js';

// Re-evaluates a json:policy bundle from its own contents (policy snapshot, run context,
// finding inputs, VEX lines) and compares the result with what the bundle holds, byte for
// byte: decisions line by line, the consensus file and the evaluation summary whole. A JSONL
// file split into parts is read across all of them, in the order export.json gives.

export interface ReplayDifference {
  file: string;
  line?: number;
  expected?: string;
  actual?: string;
}

export interface ReplayResult {
  identical: boolean;
  policyVersion: string;
  findings: number;
  inputsHash: string;
  differences: ReplayDifference[];
  // How many differing decision lines there were in all (differences lists the first few).
  differingDecisions: number;
}

const LISTED_DIFFERENCES = 20;

export async function replayBundle(bundleDir: string): Promise<ReplayResult> {
  const bundle = await openPolicyBundle(bundleDir);
  const policy = compilePolicyText(bundle.snapshot);
  const evaluation = new RunEvaluation(policy, bundle.run, bundle.vexLines);
  const differences: ReplayDifference[] = [];
  if (sha256Text(bundle.snapshot) !== bundle.run.policySha256) {
    differences.push({
      file: FILES.snapshot,
      expected: bundle.run.policySha256,
      actual: sha256Text(bundle.snapshot),
    });
  }

  const differing = await compareLines(
    evaluation.decisionLines(readDataLines(bundleDir, FILES.findingInputs)),
    readDataLines(bundleDir, FILES.decisions),
    differences,
  );
  const consensus = consensusText(bundle.vexLines, policy);
  compareWhole(
    FILES.consensus,
    consensus,
    await readFile(bundle.file(FILES.consensus), 'utf8'),
    differences,
  );
  const summary = evaluation.summary();
  const recorded = await readFile(bundle.file(FILES.evaluation), 'utf8');
  compareWhole(FILES.evaluation, canonicalJson(summary) + '\n', recorded, differences);

  return {
    identical: differences.length === 0,
    policyVersion: bundle.run.policyVersion,
    findings: summary.counts.findings,
    inputsHash: summary.inputsHash,
    differences: differences.slice(0, LISTED_DIFFERENCES),
    differingDecisions: differing,
  };
}

// What the bundle's findings would be decided as under another policy, per rule.
export async function replayWithPolicy(
  bundleDir: string,
  policyText: string,
): Promise<DecisionDifferences> {
  const bundle = await openPolicyBundle(bundleDir);
  const compiled = compilePolicyText(policyText);
  const run: RunContext = {
    ...bundle.run,
    policyVersion: compiled.snapshot.version,
    policySha256: sha256Text(policyText),
  };
  const evaluation = new RunEvaluation(compiled, run, bundle.vexLines);
  const after: PolicyDecision[] = [];
  for await (const line of evaluation.decisionLines(
    readDataLines(bundleDir, FILES.findingInputs),
  )) {
    after.push(JSON.parse(line) as PolicyDecision);
  }

  return explainDifferences(await readDecisions(bundleDir), after);
}

// Two json:policy bundles (say, the same evidence under two policy versions), per rule.
export async function diffBundles(
  beforeDir: string,
  afterDir: string,
): Promise<DecisionDifferences> {
  return explainDifferences(await readDecisions(beforeDir), await readDecisions(afterDir));
}

export async function readDecisions(bundleDir: string): Promise<PolicyDecision[]> {
  const decisions: PolicyDecision[] = [];
  for await (const line of readDataLines(bundleDir, FILES.decisions)) {
    decisions.push(JSON.parse(line) as PolicyDecision);
  }

  return decisions;
}

async function openPolicyBundle(bundleDir: string) {
  const file = (relative: string) => path.join(bundleDir, relative);
  const snapshot = await readFile(file(FILES.snapshot), 'utf8').catch((err: unknown) => {
    throw new StellaError(
      'bad_request',
      `${bundleDir} is not a json:policy bundle (no ${FILES.snapshot})`,
      { cause: err },
    );
  });
  const run = JSON.parse(await readFile(file(FILES.context), 'utf8')) as RunContext;
  if (run.schema !== CONTEXT_SCHEMA) {
    throw new StellaError(
      'schema_mismatch',
      `${FILES.context} is ${String(run.schema)}, not ${CONTEXT_SCHEMA}`,
    );
  }
  const vexLines: string[] = [];
  for await (const line of readDataLines(bundleDir, FILES.vexInputs)) {
    vexLines.push(line);
  }

  return { file, snapshot, run, vexLines };
}

async function compareLines(
  actual: AsyncIterable<string>,
  expected: AsyncIterable<string>,
  differences: ReplayDifference[],
): Promise<number> {
  const [a, e] = [actual[Symbol.asyncIterator](), expected[Symbol.asyncIterator]()];
  let differing = 0;
  for (let line = 1; ; line++) {
    const [x, y] = await Promise.all([a.next(), e.next()]);
    if (x.done && y.done) {
      return differing;
    }
    if (x.value !== y.value) {
      differing += 1;
      differences.push({
        file: FILES.decisions,
        line,
        expected: y.value ?? undefined,
        actual: x.value ?? undefined,
      });
    }
  }
}

function compareWhole(
  file: string,
  actual: string,
  expected: string,
  differences: ReplayDifference[],
) {
  if (actual !== expected) {
    differences.push({ file, expected, actual });
  }
}
