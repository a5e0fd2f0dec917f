import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { StellaError } from '../domain/errors.js';

// The policy document format (docs/policy-snapshot-format.md). A snapshot is the YAML as
// published; this is its validated reading. Unknown keys are refused so that a typo never
// silently widens a rule.

export const POLICY_SCHEMA = 'stella.policy/v1';
export const POLICY_VERSION_PATTERN = /^pol-v\d+\.\d+\.\d+$/;

export const SEVERITIES = ['UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export const VEX_STATUSES = [
  'not_affected',
  'affected',
  'fixed',
  'under_investigation',
  'none',
] as const;
export const ACTIONS = ['allow', 'warn', 'deny'] as const;

export type Severity = (typeof SEVERITIES)[number];
export type VexCondition = (typeof VEX_STATUSES)[number];
export type PolicyAction = (typeof ACTIONS)[number];

// Rationale templates may name only these values ({{name}}).
export const TEMPLATE_VARIABLES = [
  'advisory',
  'aliases',
  'purl',
  'package',
  'ecosystem',
  'version',
  'severity',
  'cvss',
  'range',
  'fixedIn',
  'vexStatus',
  'ageDays',
  'flags',
  'rule',
] as const;

const severity = z.preprocess(
  (value) => (typeof value === 'string' ? severityWord(value) : value),
  z.enum(SEVERITIES),
);
const bounds = z
  .strictObject({
    gte: z.number().optional(),
    gt: z.number().optional(),
    lt: z.number().optional(),
    lte: z.number().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'name at least one of gte, gt, lt, lte' });
const nonEmpty = <T extends z.ZodType>(item: T) => z.array(item).min(1);
const template = z.string().min(1).max(2000).superRefine(checkTemplate);

const conditionSchema = z.strictObject({
  severity: nonEmpty(severity).optional(),
  cvss: bounds.optional(),
  ecosystems: nonEmpty(z.string().min(1)).optional(),
  packages: nonEmpty(z.string().min(1)).optional(),
  advisories: nonEmpty(z.string().min(1)).optional(),
  fixAvailable: z.boolean().optional(),
  vexStatus: nonEmpty(z.enum(VEX_STATUSES)).optional(),
  ageDays: bounds.optional(),
  flags: nonEmpty(z.string().min(1)).optional(),
});

const outcomeSchema = z.strictObject({
  action: z.enum(ACTIONS),
  riskScore: z.number().int().min(0).max(100),
  rationale: template,
});

const ruleSchema = outcomeSchema.extend({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lower-case letters, digits, ., _ and -'),
  description: z.string().max(2000).optional(),
  when: conditionSchema.default({}),
});

// The trust a policy without a `vex` section gives, and ingest uses before any is published.
export const DEFAULT_VEX_TRUST = { defaultWeight: 0.5, issuers: [] };

export const vexTrustSchema = z.strictObject({
  defaultWeight: z.number().min(0).max(1).default(0.5),
  issuers: z
    .array(z.strictObject({ issuer: z.string().min(1), weight: z.number().min(0).max(1) }))
    .default([]),
});

export const policySnapshotSchema = z
  .strictObject({
    schema: z.literal(POLICY_SCHEMA),
    version: z.string().regex(POLICY_VERSION_PATTERN, 'a version like pol-v1.8.2'),
    name: z.string().min(1).max(200),
    description: z.string().max(4000).optional(),
    vex: vexTrustSchema.default(DEFAULT_VEX_TRUST),
    rules: z.array(ruleSchema).max(1000),
    default: outcomeSchema,
  })
  .superRefine((policy, ctx) => {
    const seen = new Set<string>();
    policy.rules.forEach((rule, i) => {
      if (seen.has(rule.id) || rule.id === 'default') {
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'id'],
          message: `rule id ${rule.id} is used twice`,
        });
      }
      seen.add(rule.id);
    });
  });

export type PolicySnapshot = z.infer<typeof policySnapshotSchema>;
export type PolicyRule = PolicySnapshot['rules'][number];
export type PolicyConditions = PolicyRule['when'];
export type PolicyOutcome = z.infer<typeof outcomeSchema>;
export type NumericBounds = z.infer<typeof bounds>;
export type VexTrust = PolicySnapshot['vex'];

// YAML text → validated snapshot; malformed YAML and schema violations are the author's to
// fix, so both are malformed_document with every problem listed.
export function parsePolicySnapshot(text: string): PolicySnapshot {
  let tree: unknown;
  try {
    tree = parseYaml(text, { strict: true, uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    throw new StellaError(
      'malformed_document',
      `policy is not valid YAML: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const parsed = policySnapshotSchema.safeParse(tree);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    const message = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
    throw new StellaError(
      'malformed_document',
      `policy does not follow ${POLICY_SCHEMA}: ${message}`,
      {
        cause: parsed.error,
        details: { issues },
      },
    );
  }

  return parsed.data;
}

// The advisory sources say MODERATE where CVSS says MEDIUM; one word is kept.
export function severityWord(value: string): string {
  const upper = value.toUpperCase();

  return upper === 'MODERATE' ? 'MEDIUM' : upper;
}

function checkTemplate(text: string, ctx: z.RefinementCtx) {
  for (const [, name] of text.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
    if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name)) {
      ctx.addIssue({ code: 'custom', message: `unknown template variable {{${name}}}` });
    }
  }
}
