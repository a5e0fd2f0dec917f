import path from 'node:path';
import { canonicalJson } from '../../bundle/canonical-json.js';
import { digestFile, writeFileAtomic } from '../../bundle/files.js';
import { readDataLines } from '../../bundle/bundle-parts.js';
import type { ManifestFile } from '../../bundle/manifest.js';
import { writeShardedJsonl } from '../../bundle/sharded-jsonl.js';
import { CONSENSUS_SCHEMA } from '../../consensus/consensus-records.js';
import { SCHEMA_VERSIONS } from '../../domain/records.js';
import { POLICY_BUNDLE_FILES as FILES } from '../../policy/bundle-layout.js';
import { DECISION_SCHEMA } from '../../policy/evaluate-policy.js';
import {
  CONTEXT_SCHEMA,
  EVALUATION_SCHEMA,
  RunEvaluation,
  compilePolicyText,
  consensusText,
  type RunContext,
} from '../../policy/evaluate-run.js';
import { FINDING_INPUT_SCHEMA } from '../../policy/finding-input.js';
import { AdvisoryIndex, VexIndex } from '../../policy/finding-matcher.js';
import { POLICY_SCHEMA } from '../../policy/policy-snapshot.js';
import { sha256Text, vexRefOfLine } from '../../policy/evaluate-run.js';
import type { NormalizedAdvisory, NormalizedVexStatement } from '../../domain/records.js';
import { policyInputsOf, type PolicyInputSource } from '../../store/policy-inputs.js';
import { pinRunPolicy, type PolicyRecord } from '../../store/policy-store.js';
import type { AdapterOutput, ExportAdapter, FileLineage, WriteContext } from '../export-adapter.js';
import { jsonPartLimitsOf } from './json-part-limits.js';
import { guardLines, RecordGuard } from '../schema-guard.js';

const EVIDENCE: FileLineage = { kinds: ['advisory', 'vex', 'sbom'] };

// json:policy: findings (SBOM components × advisories) with the decision a published policy
// version makes about each, the VEX consensus, and everything needed to replay both from
// the bundle alone. Decisions are computed from the finding inputs file as written, the
// same way `stella export replay` computes them.
export const jsonPolicyAdapter: ExportAdapter = {
  kind: 'json:policy',
  name: 'stella.json-policy',
  version: '1.0.0',
  write: writeJsonPolicy,
};

async function writeJsonPolicy(context: WriteContext): Promise<AdapterOutput> {
  const inputs = policyInputsOf(context.source);
  const policy = await pinRunPolicy(inputs.db, inputs.tenant, inputs.runId);
  const compiled = compilePolicyText(policy.document);
  const output = emptyOutput();
  const part = partWriter(context, output);

  await part(FILES.snapshot, { documents: [] }, 'application/yaml', () =>
    writeFileAtomic(path.join(context.stagingDir, FILES.snapshot), policy.document),
  );

  const vexLines = await collect(context.source.vexLines());
  const parts = shardedPartWriter(context, output);
  await parts(FILES.vexInputs, 'vex-statement', { kinds: ['vex'] }, fromArray(vexLines));

  const { advisories, vex } = await buildIndexes(context, vexLines);
  const run = runContextOf(policy, advisories.asOf(), context.profileConfig.traces === true);
  await part(FILES.context, { documents: [] }, 'application/json', () =>
    writeFileAtomic(path.join(context.stagingDir, FILES.context), canonicalJson(run) + '\n'),
  );

  const findings = await parts(
    FILES.findingInputs,
    'finding-input',
    EVIDENCE,
    findingLines(inputs, advisories, vex, progressEvery(context, 'sbom components')),
  );

  const evaluation = new RunEvaluation(compiled, run, vexLines);
  await parts(
    FILES.decisions,
    'policy-decision',
    EVIDENCE,
    guardLines(
      new RecordGuard(jsonPolicyAdapter, 'policyDecision'),
      evaluation.decisionLines(readDataLines(context.stagingDir, FILES.findingInputs)),
    ),
  );

  const consensus = consensusText(vexLines, compiled);
  checkConsensusLines(consensus);
  await part(FILES.consensus, { kinds: ['vex'] }, 'application/x-ndjson', () =>
    writeFileAtomic(path.join(context.stagingDir, FILES.consensus), consensus),
  );

  const summary = evaluation.summary();
  await part(FILES.evaluation, EVIDENCE, 'application/json', () =>
    writeFileAtomic(path.join(context.stagingDir, FILES.evaluation), canonicalJson(summary) + '\n'),
  );

  output.counts = {
    findings: findings.reduce((sum, file) => sum + (file.records ?? 0), 0),
    allow: summary.counts.allow,
    warn: summary.counts.warn,
    deny: summary.counts.deny,
    vexStatements: vexLines.length,
    vexConsensus: consensus ? consensus.split('\n').length - 1 : 0,
  };

  return output;
}

function emptyOutput(): AdapterOutput {
  return {
    files: [],
    lineage: {},
    counts: {},
    schemaVersions: {
      policy: POLICY_SCHEMA,
      policyContext: CONTEXT_SCHEMA,
      policyInput: FINDING_INPUT_SCHEMA,
      policyDecision: DECISION_SCHEMA,
      policyEvaluation: EVALUATION_SCHEMA,
      vexConsensus: CONSENSUS_SCHEMA,
      vexStatement: SCHEMA_VERSIONS.vexStatement,
    },
  };
}

// Writes one file (the callback), then records its digest, lineage and completion. Every
// part is rewritten on a resumed attempt: evaluation is deterministic, so the bytes match.
function partWriter(context: WriteContext, output: AdapterOutput) {
  return async (
    relative: string,
    lineage: FileLineage,
    mediaType: string,
    write: () => Promise<{ records?: number } | void>,
  ): Promise<ManifestFile> => {
    const written = await write();
    const digest = await digestFile(path.join(context.stagingDir, relative));
    const records = written && written.records !== undefined ? { records: written.records } : {};
    const file: ManifestFile = {
      path: relative,
      mediaType,
      sha256: digest.sha256,
      size: digest.size,
      ...records,
    };
    output.files.push(file);
    output.lineage[relative] = lineage;
    context.onFileDone(file);

    return file;
  };
}

// Writes one JSONL data file, split into numbered parts past the profile's part limits
// (bundle/sharded-jsonl.ts), and records each part like partWriter does.
function shardedPartWriter(context: WriteContext, output: AdapterOutput) {
  const limits = jsonPartLimitsOf(context.profileConfig);

  return async (
    relative: string,
    contentType: string,
    lineage: FileLineage,
    lines: AsyncIterable<string>,
  ): Promise<ManifestFile[]> => {
    const files = await writeShardedJsonl(lines, {
      stagingDir: context.stagingDir,
      relative,
      contentType,
      limits,
      onProgress: (file, records) => context.onProgress({ file, records }),
    });
    for (const file of files) {
      output.files.push(file);
      output.lineage[file.path] = lineage;
      context.onFileDone(file);
    }

    return files;
  };
}

async function buildIndexes(context: WriteContext, vexLines: string[]) {
  const vex = new VexIndex();
  for (const line of vexLines) {
    const record = JSON.parse(line) as NormalizedVexStatement & { documentSha256: string };
    vex.add(record, record.documentSha256, vexRefOfLine(line).ref);
  }
  // Missing: the whole advisory index is held in memory (facts and affected ranges only,
  // not summaries or details); a store-side join on package names would bound it.
  const advisories = new AdvisoryIndex();
  const progress = progressEvery(context, 'advisories (index)');
  for await (const line of context.source.advisoryLines()) {
    const record = JSON.parse(line) as NormalizedAdvisory & { documentSha256: string };
    advisories.add(record, record.documentSha256);
    progress();
  }

  return { advisories, vex };
}

async function* findingLines(
  inputs: PolicyInputSource,
  advisories: AdvisoryIndex,
  vex: VexIndex,
  progress: () => void,
): AsyncGenerator<string> {
  const guard = new RecordGuard(jsonPolicyAdapter, 'findingInput');
  for await (const component of inputs.components()) {
    progress();
    for (const finding of advisories.findingsFor(component, vex)) {
      yield canonicalJson(guard.check(finding));
    }
  }
}

function checkConsensusLines(consensus: string): void {
  const guard = new RecordGuard(jsonPolicyAdapter, 'vexConsensus');
  for (const line of consensus.split('\n')) {
    if (line !== '') guard.line(line);
  }
}

function runContextOf(policy: PolicyRecord, asOf: string | undefined, traces: boolean): RunContext {
  return {
    schema: CONTEXT_SCHEMA,
    policyVersion: policy.version,
    policySha256: sha256Text(policy.document),
    asOf: asOf ?? null,
    traces,
  };
}

// Heartbeats during the phases that write nothing for a while (building the index, reading
// components that match no advisory): the activity's heartbeat timeout must not fire.
function progressEvery(context: WriteContext, file: string, every = 10_000): () => void {
  let records = 0;

  return () => {
    records += 1;
    if (records % every === 0) {
      context.onProgress({ file, records });
    }
  };
}

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const line of lines) {
    all.push(line);
  }

  return all;
}

async function* fromArray(lines: string[]): AsyncGenerator<string> {
  yield* lines;
}
