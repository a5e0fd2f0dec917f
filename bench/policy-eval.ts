// Policy evaluation throughput: evaluated findings per second for 1,000,000 findings.
//
//   npm run bench -- policy-eval
//   STELLA_BENCH_FINDINGS=200000 npm run bench -- policy-eval
//
// Reports two figures on the same synthetic findings (shaped like the real ones: npm, PyPI,
// Maven and Go packages, mixed severities, one in ten with VEX statements), evaluated under
// test/fixtures/policies/pol-v1.1.0.yaml:
//   engine  evaluateFinding on parsed inputs (rules, VEX consensus, rationale, fingerprint)
//   lines   the adapter's path: JSON input line → decision line (parse, evaluate,
//           canonical JSON, running hashes), without the zstd writer
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalJson } from '../bundle/canonical-json.js';
import { evaluateFinding } from '../policy/evaluate-policy.js';
import {
  CONTEXT_SCHEMA,
  RunEvaluation,
  compilePolicyText,
  sha256Text,
} from '../policy/evaluate-run.js';
import { FINDING_INPUT_SCHEMA, type FindingInput } from '../policy/finding-input.js';
import type { Severity } from '../policy/policy-snapshot.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const count = Number(process.env.STELLA_BENCH_FINDINGS ?? 1_000_000);
const policyText = await readFile(
  path.join(here, '..', 'test', 'fixtures', 'policies', 'pol-v1.1.0.yaml'),
  'utf8',
);
const policy = compilePolicyText(policyText);
const run = {
  schema: CONTEXT_SCHEMA,
  policyVersion: policy.snapshot.version,
  policySha256: sha256Text(policyText),
  asOf: '2024-10-08T19:03:38Z',
  traces: false,
} as const;

const PACKAGES = [
  ['npm', 'lodash', '4.17.15'],
  ['PyPI', 'django', '3.2'],
  ['Maven', 'org.apache.logging.log4j:log4j-core', '2.14.1'],
  ['Go', 'golang.org/x/text', 'v0.3.5'],
] as const;
const SEVERITIES: Severity[] = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL', 'UNKNOWN'];

function synthetic(i: number): FindingInput {
  const [ecosystem, name, version] = PACKAGES[i % PACKAGES.length];
  const id = `GHSA-${(i % 9973).toString(36).padStart(4, '0')}-bench-${i % 97}`;
  const withVex = i % 10 === 0;

  return {
    schema: FINDING_INPUT_SCHEMA,
    findingId: sha256Text(String(i)),
    sbom: { documentSha256: 'a'.repeat(64), subject: 'bench-app' },
    component: {
      ordinal: i,
      purl: `pkg:${ecosystem.toLowerCase()}/${name}@${version}`,
      name,
      version,
      ecosystem,
      package: name,
    },
    advisory: {
      id,
      aliases: [`CVE-2024-${10000 + (i % 50000)}`],
      source: 'ghsa',
      documentSha256: 'b'.repeat(64),
      severity: SEVERITIES[i % SEVERITIES.length],
      cvss: { score: (i % 100) / 10, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
      published: '2021-12-10T00:00:00Z',
      flags: i % 50 === 0 ? ['kev'] : [],
    },
    match: i % 3 === 0 ? { range: '>=0' } : { range: '>=0 <9.9.9', fixedIn: '9.9.9' },
    vex: withVex
      ? [
          {
            ref: 'c'.repeat(64),
            documentSha256: 'd'.repeat(64),
            vulnerability: id,
            product: `pkg:npm/${name}`,
            status: 'not_affected',
            justification: 'component_not_present',
            issuer: 'Stella Fixture Vendor',
            timestamp: '2024-01-01T00:00:00Z',
          },
        ]
      : [],
  };
}

function measure(label: string, body: () => void) {
  const start = process.hrtime.bigint();
  body();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
  const rate = Math.round(count / seconds).toLocaleString('en');
  const took = `${count} findings in ${seconds.toFixed(2)} s`;
  process.stdout.write(`${label.padEnd(8)} ${took} = ${rate} findings/s (rss ${rss} MiB)\n`);
}

// A pool of distinct findings, cycled, so that the figures measure evaluation and not the
// making of synthetic data.
const POOL = 10_000;
const inputs = Array.from({ length: POOL }, (_, i) => synthetic(i));
const lines = inputs.map((input) => canonicalJson(input));
const context = {
  policyVersion: run.policyVersion,
  policySha256: run.policySha256,
  asOf: run.asOf,
};
measure('engine', () => {
  for (let i = 0; i < count; i++)
    evaluateFinding(policy, inputs[i % POOL], context, lines[i % POOL]);
});

const evaluation = new RunEvaluation(policy, run, []);
measure('lines', () => {
  for (let i = 0; i < count; i++) evaluation.decide(lines[i % POOL]);
});
process.stdout.write(`decisions ${JSON.stringify(evaluation.summary().counts)}\n`);
