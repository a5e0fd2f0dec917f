import { z } from 'zod';

// The allow-list of fields each normalized record type may carry when an adapter emits it.
// Every object is strict: a field missing here is schema drift (issue #9), and the run
// fails with schema_mismatch instead of shipping a field no reader was told about. Adding a
// field to an export means adding it here and bumping the record's schema version.
//
// Types are loose on purpose (strings stay strings, not enums): the guard's job is the
// field set; value checks belong to the parsers and to each format's mapping.

const text = z.string();
const texts = z.array(text);

// CycloneDX per-version states (ingest/vex-statement.ts VexVersionState).
const versionState = z.strictObject({
  version: text.optional(),
  range: text.optional(),
  status: text,
});

const rangeEvent = z.strictObject({
  introduced: text.optional(),
  fixed: text.optional(),
  last_affected: text.optional(),
  limit: text.optional(),
});

const affectedPackage = z.strictObject({
  ecosystem: text,
  name: text,
  purl: text.optional(),
  ranges: z.array(z.strictObject({ type: text, events: z.array(rangeEvent) })),
  versions: texts,
  fixed: texts,
});

// One line of advisories/normalized.jsonl.zst (stella.advisory/v1).
export const advisoryRecordSchema = z.strictObject({
  schema: text,
  id: text,
  aliases: texts,
  source: text,
  summary: text.optional(),
  details: text.optional(),
  severity: z.array(z.strictObject({ type: text, score: text })),
  severityLevel: text.optional(),
  cwes: texts,
  references: z.array(z.strictObject({ type: text, url: text })),
  affected: z.array(affectedPackage),
  published: text.optional(),
  modified: text.optional(),
  withdrawn: text.optional(),
  documentSha256: text,
});

// One line of vex/normalized.jsonl.zst (stella.vex-statement/v1).
export const vexStatementRecordSchema = z.strictObject({
  schema: text,
  vulnerability: text,
  aliases: texts,
  product: text,
  subcomponents: texts,
  status: text,
  justification: text.optional(),
  impactStatement: text.optional(),
  actionStatement: text.optional(),
  issuer: text.optional(),
  timestamp: text.optional(),
  versions: z.array(versionState).optional(),
  documentSha256: text,
});

// One SBOM's subject line (stella.sbom/v1): the components are counted, not inlined.
export const sbomRecordSchema = z.strictObject({
  schema: text,
  format: text,
  specVersion: text,
  subject: text,
  subjectVersion: text.optional(),
  imageDigest: text.optional(),
  repository: text.optional(),
  tag: text.optional(),
  created: text.optional(),
  componentCount: z.number(),
  documentSha256: text,
});

export const sbomComponentRecordSchema = z.strictObject({
  purl: text.optional(),
  name: text,
  version: text.optional(),
  type: text.optional(),
  hashes: z.array(z.strictObject({ alg: text, content: text })),
});

const vexStatementRef = z.strictObject({
  ref: text,
  documentSha256: text,
  vulnerability: text,
  product: text,
  status: text,
  justification: text.optional(),
  impactStatement: text.optional(),
  issuer: text.optional(),
  timestamp: text.optional(),
  versionState: versionState.optional(),
});

// One line of inputs/findings.jsonl.zst (stella.policy-input/v1).
export const findingInputRecordSchema = z.strictObject({
  schema: text,
  findingId: text,
  sbom: z.strictObject({ documentSha256: text, subject: text }),
  component: z.strictObject({
    ordinal: z.number(),
    purl: text,
    name: text,
    version: text,
    ecosystem: text,
    package: text,
  }),
  advisory: z.strictObject({
    id: text,
    aliases: texts,
    source: text,
    documentSha256: text,
    severity: text,
    cvss: z.strictObject({ score: z.number(), vector: text }).optional(),
    published: text.optional(),
    modified: text.optional(),
    flags: texts,
  }),
  match: z.strictObject({ range: text, fixedIn: text.optional() }),
  vex: z.array(vexStatementRef),
});

// One line of decisions (stella.policy-decision/v1).
export const policyDecisionRecordSchema = z.strictObject({
  schema: text,
  findingId: text,
  sbom: text,
  purl: text,
  advisory: text,
  policyVersion: text,
  decision: text,
  ruleId: text,
  riskScore: z.number(),
  rationale: text,
  vexStatus: text,
  inputsFingerprint: text,
  trace: z
    .array(z.strictObject({ rule: text, matched: z.boolean(), failed: texts }))
    .optional(),
});

// One line of the VEX consensus file (stella.vex-consensus/v1).
export const vexConsensusRecordSchema = z.strictObject({
  schema: text,
  vulnerability: text,
  product: text,
  scope: text.optional(),
  productVersion: text.optional(),
  status: text,
  justification: text.optional(),
  resolvedBy: text,
  weights: z.record(text, z.number()),
  statements: z.array(
    z.strictObject({
      ref: text,
      documentSha256: text,
      issuer: text.optional(),
      status: text,
      justification: text.optional(),
      timestamp: text.optional(),
      versionState: versionState.optional(),
      weight: z.number(),
      role: text,
    }),
  ),
});

export const EMITTED_RECORD_SCHEMAS = {
  advisory: advisoryRecordSchema,
  vexStatement: vexStatementRecordSchema,
  sbom: sbomRecordSchema,
  sbomComponent: sbomComponentRecordSchema,
  findingInput: findingInputRecordSchema,
  policyDecision: policyDecisionRecordSchema,
  vexConsensus: vexConsensusRecordSchema,
} as const;

export type EmittedRecordType = keyof typeof EMITTED_RECORD_SCHEMAS;
