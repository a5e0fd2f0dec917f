import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunView } from '../../api/run-view.js';
import { removeQuietly } from '../../bundle/files.js';
import { writeJsonlZst } from '../../bundle/jsonl-zst.js';
import type { ExportManifest } from '../../bundle/manifest.js';
import type { VexConsensusRecord } from '../../consensus/consensus-records.js';
import { StellaError } from '../../domain/errors.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import { POLICY_BUNDLE_FILES as FILES } from '../../policy/bundle-layout.js';
import type { PolicyDecision } from '../../policy/evaluate-policy.js';
import type { EvaluationSummary } from '../../policy/evaluate-run.js';
import type { DecisionDifferences } from '../../policy/explain-differences.js';
import type { FindingInput } from '../../policy/finding-input.js';
import { readJsonlZst } from '../../policy/read-jsonl-zst.js';
import { sha256Hex } from '../../store/evidence-store.js';
import { runCli } from '../support/cli.js';
import {
  EVIDENCE,
  FIXTURES,
  startExportStack,
  stellaEnv,
  type ExportStack,
} from '../support/export-stack.js';
import { exportAndUnpack } from '../support/runs.js';

const POLICIES = path.join(FIXTURES, 'policies');
const SBOM = path.join(POLICIES, 'expected-packages.cdx.json');

// advisories/EXPECTED.md, per package of the authored SBOM.
const EXPECTED: Record<string, string[]> = {
  'pkg:npm/lodash@4.17.15': ['GHSA-29mw-wpgm-hmr9', 'GHSA-35jh-r3h4-6jhm', 'GHSA-p6mc-m468-83gw'],
  'pkg:npm/minimist@1.2.0': ['GHSA-vh95-rmgr-6w4m', 'GHSA-xvch-5gv4-984h'],
  'pkg:npm/axios@0.21.0': ['GHSA-4w2v-q235-vp99', 'GHSA-cph5-m8f7-6c5x', 'GHSA-wf5p-g6vw-rhxx'],
  'pkg:npm/follow-redirects@1.13.0': [
    'GHSA-74fj-2j2h-c42q',
    'GHSA-cxjh-pqwp-8mfp',
    'GHSA-jchw-25xp-jwwc',
    'GHSA-pw2r-vq6v-hr8c',
  ],
  'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar': [
    'GHSA-7rjr-3q55-vv33',
    'GHSA-8489-44mv-ggj8',
    'GHSA-jfh8-c2jp-5v3q',
    'GHSA-p6xc-xr62-6r2g',
  ],
  'pkg:golang/golang.org/x/text@v0.3.5': [
    'GHSA-69ch-w2m2-3vjp',
    'GHSA-ppp9-7jff-5vj2',
    'GO-2021-0113',
    'GO-2022-1059',
    'GO-2026-5970',
  ],
  'pkg:golang/github.com/gin-gonic/gin@v1.6.0': [
    'GHSA-2c4m-59x9-fr2g',
    'GHSA-3vp4-m3rf-835h',
    'GO-2021-0052',
    'GO-2023-1737',
  ],
};
const DJANGO_GHSA = ['GHSA-2gwj-7jmv-h26r', 'GHSA-68w8-qjq3-2gfm', 'GHSA-p64x-8rxx-wf6q'];
const DJANGO_PYSEC = [
  'PYSEC-2021-7',
  'PYSEC-2021-8',
  'PYSEC-2021-98',
  'PYSEC-2021-99',
  'PYSEC-2021-109',
  'PYSEC-2021-439',
  'PYSEC-2022-1',
  'PYSEC-2022-2',
  'PYSEC-2022-3',
  'PYSEC-2022-19',
  'PYSEC-2022-20',
  'PYSEC-2022-190',
  'PYSEC-2022-191',
  'PYSEC-2022-213',
  'PYSEC-2022-245',
  'PYSEC-2022-304',
  'PYSEC-2023-12',
  'PYSEC-2023-13',
  'PYSEC-2023-61',
  'PYSEC-2023-100',
  'PYSEC-2023-225',
  'PYSEC-2023-226',
  'PYSEC-2023-222',
  'PYSEC-2024-28',
  'PYSEC-2024-47',
];

describe('json:policy export', { timeout: 300_000 }, () => {
  let stack: ExportStack;
  let scratch: string;
  let cliEnv: NodeJS.ProcessEnv;
  let first: { run: RunView; dir: string };
  let sbomSha256: string;

  before(async () => {
    stack = await startExportStack();
    scratch = await mkdtemp(path.join(os.tmpdir(), 'stella-json-policy-'));
    cliEnv = { ...stellaEnv(stack.config), STELLA_API_URL: stack.api.url };
    await ingestPaths(stack.db, 'default', [
      EVIDENCE,
      SBOM,
      path.join(POLICIES, 'lodash-vex.openvex.json'),
    ]);
    sbomSha256 = sha256Hex(await readFile(SBOM));
    await publish(stack, 'pol-v1.0.0.yaml');
    first = await exportAndUnpack(stack, pinned('pol-v1.0.0'), path.join(scratch, 'first'));
  });

  after(async () => {
    await stack?.stop();
    await removeQuietly(scratch);
  });

  describe('run pinned to pol-v1.0.0', () => {
    it('returns a succeeded run that records the policy version', async () => {
      const summary = await readSummary(first.dir);

      assert.equal(first.run.state, 'succeeded', first.run.errorMessage ?? '');
      assert.equal(first.run.policyVersion, 'pol-v1.0.0');
      assert.equal(summary.policyVersion, 'pol-v1.0.0');
      assert.equal(
        summary.policySha256,
        sha256Hex(await readFile(path.join(POLICIES, 'pol-v1.0.0.yaml'))),
      );
      assert.match(summary.inputsHash, /^[0-9a-f]{64}$/);
    });

    it('returns the policy snapshot exactly as published', async () => {
      const published = await readFile(path.join(POLICIES, 'pol-v1.0.0.yaml'));

      assert.deepEqual(await readFile(path.join(first.dir, FILES.snapshot)), published);
    });

    it('returns every part listed in the signed manifest', async () => {
      const manifest = JSON.parse(
        await readFile(path.join(first.dir, 'export.json'), 'utf8'),
      ) as ExportManifest;
      const paths = manifest.files.map((f) => f.path);

      for (const file of Object.values(FILES)) {
        assert.ok(paths.includes(file), file);
      }
      assert.equal(manifest.counts.findings, (await readSummary(first.dir)).counts.findings);
    });

    it('returns exactly the findings of advisories/EXPECTED.md for the authored SBOM', async () => {
      const inputs = (await readInputs(first.dir)).filter(
        (f) => f.sbom.documentSha256 === sbomSha256,
      );
      const byPurl = new Map<string, string[]>();
      for (const input of inputs) {
        byPurl.set(input.component.purl, [
          ...(byPurl.get(input.component.purl) ?? []),
          input.advisory.id,
        ]);
      }

      for (const [purl, ids] of Object.entries(EXPECTED)) {
        assert.deepEqual(byPurl.get(purl)?.sort(), [...ids].sort(), purl);
      }
      assert.deepEqual(
        byPurl.get('pkg:pypi/django@3.2')?.sort(),
        [...DJANGO_GHSA, ...DJANGO_PYSEC].sort(),
      );
      assert.equal(inputs.length, 53);
    });

    it('returns allow by rule vex-cleared for the lodash finding the authored VEX clears', async () => {
      const decisions = await readDecisions(first.dir);
      const cleared = decisions.find(
        (d) =>
          d.sbom === sbomSha256 &&
          d.advisory === 'GHSA-35jh-r3h4-6jhm' &&
          d.purl === 'pkg:npm/lodash@4.17.15',
      );

      assert.equal(cleared?.decision, 'allow');
      assert.equal(cleared?.ruleId, 'vex-cleared');
      assert.equal(cleared?.vexStatus, 'not_affected');
      assert.equal(
        cleared?.rationale,
        'GHSA-35jh-r3h4-6jhm does not affect pkg:npm/lodash@4.17.15: VEX consensus is not_affected',
      );
    });

    it('returns deny by rule critical-fixable for Log4Shell in log4j-core 2.14.1', async () => {
      const decisions = await readDecisions(first.dir);
      const log4shell = decisions.find(
        (d) => d.sbom === sbomSha256 && d.advisory === 'GHSA-jfh8-c2jp-5v3q',
      );

      assert.equal(log4shell?.decision, 'deny');
      assert.equal(log4shell?.ruleId, 'critical-fixable');
      assert.equal(log4shell?.riskScore, 95);
      assert.equal(
        log4shell?.rationale,
        'GHSA-jfh8-c2jp-5v3q (CRITICAL, CVSS 10) affects pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar (>=2.13.0 <2.15.0); upgrade to 2.15.0',
      );
    });

    it('returns the VEX consensus, keeping the CSAF use-case trio of one issuer together', async () => {
      const lines = (await readFile(path.join(first.dir, FILES.consensus), 'utf8'))
        .trimEnd()
        .split('\n');
      const records = lines.map((line) => JSON.parse(line) as VexConsensusRecord);
      const trio = records.find(
        (r) =>
          r.vulnerability === 'CVE-2021-44228' && r.scope === 'issuer:Example Company ProductCERT',
      );

      assert.equal(trio?.status, 'fixed');
      assert.equal(trio?.resolvedBy, 'precedence');
      assert.equal(trio?.statements.length, 3);
    });
  });

  describe('stella export replay', () => {
    describe('when the bundle is unchanged', () => {
      it('exits 0 and reports every decision identical, from the folder and from the archive', async () => {
        for (const target of [first.dir, `${first.dir}.tar.zst`]) {
          const result = await runCli(['export', 'replay', target, '--json'], cliEnv);

          assert.equal(result.code, 0, result.stderr);
          const report = JSON.parse(result.stdout) as { identical: boolean; findings: number };
          assert.equal(report.identical, true);
          assert.equal(report.findings, (await readSummary(first.dir)).counts.findings);
        }
      });
    });

    describe('when one decision in the bundle was changed', () => {
      it('exits 6 and names the line', async () => {
        const copy = path.join(scratch, 'tampered');
        await cp(first.dir, copy, { recursive: true });
        const lines: string[] = [];
        for await (const line of readJsonlZst(path.join(copy, FILES.decisions))) lines.push(line);
        const target = lines.findIndex((line) => line.includes('"decision":"deny"'));
        lines[target] = lines[target].replace('"decision":"deny"', '"decision":"allow"');
        await writeJsonlZst(
          path.join(copy, FILES.decisions),
          (async function* () {
            yield* lines;
          })(),
        );

        const result = await runCli(['export', 'replay', copy, '--json'], cliEnv);

        assert.equal(result.code, 6, result.stderr);
        const report = JSON.parse(result.stdout) as {
          identical: boolean;
          differences: { file: string; line?: number }[];
        };
        assert.equal(report.identical, false);
        assert.deepEqual(report.differences[0], {
          ...report.differences[0],
          file: FILES.decisions,
          line: target + 1,
        });
      });
    });
  });

  describe('the same policy version twice', () => {
    it('returns byte-identical decisions, inputs, consensus and summary', async () => {
      const second = await exportAndUnpack(stack, pinned('pol-v1.0.0'), path.join(scratch, 'second'));

      assert.notEqual(second.run.id, first.run.id);
      for (const file of Object.values(FILES)) {
        assert.deepEqual(
          await readFile(path.join(second.dir, file)),
          await readFile(path.join(first.dir, file)),
          file,
        );
      }
    });
  });

  describe('a newer policy version', () => {
    let newer: { run: RunView; dir: string };

    before(async () => {
      const published = await runCli(
        ['policy', 'publish', path.join(POLICIES, 'pol-v1.1.0.yaml')],
        cliEnv,
      );
      assert.equal(published.code, 0, published.stderr);
      newer = await exportAndUnpack(stack, pinned(), path.join(scratch, 'newer'));
    });

    it('returns the version an unpinned run resolved, recorded on the run and in the bundle', async () => {
      assert.equal(newer.run.state, 'succeeded', newer.run.errorMessage ?? '');
      assert.equal(newer.run.policyVersion, 'pol-v1.1.0');
      assert.equal((await readSummary(newer.dir)).policyVersion, 'pol-v1.1.0');
    });

    it('returns the differences per rule: django accepted, fixable HIGH findings warned', async () => {
      const result = await runCli(['policy', 'diff', first.dir, newer.dir, '--json'], cliEnv);
      assert.equal(result.code, 0, result.stderr);
      const diff = JSON.parse(result.stdout) as DecisionDifferences;
      const old = await readDecisions(first.dir);
      const isDjango = (d: PolicyDecision) => d.purl.startsWith('pkg:pypi/django@');
      const expected = new Map<string, number>();
      for (const d of old) {
        const to =
          d.ruleId === 'vex-cleared'
            ? null
            : isDjango(d)
              ? 'accept-django'
              : d.ruleId === 'high-fixable'
                ? 'high-fixable'
                : null;
        if (to) expected.set(`${d.ruleId}→${to}`, (expected.get(`${d.ruleId}→${to}`) ?? 0) + 1);
      }

      const actual = new Map(diff.changes.map((c) => [`${c.fromRule}→${c.toRule}`, c.count]));
      assert.deepEqual(actual, expected);
      assert.equal(diff.changes.find((c) => c.fromRule === 'high-fixable')?.toDecision, 'warn');
      assert.ok((expected.get('high-fixable→high-fixable') ?? 0) > 0);
    });

    it('returns the same explanation through replay --policy on the older bundle', async () => {
      const viaReplay = await runCli(
        [
          'export',
          'replay',
          first.dir,
          '--policy',
          path.join(POLICIES, 'pol-v1.1.0.yaml'),
          '--json',
        ],
        cliEnv,
      );
      const viaDiff = await runCli(['policy', 'diff', first.dir, newer.dir, '--json'], cliEnv);

      assert.equal(viaReplay.code, 0, viaReplay.stderr);
      assert.deepEqual(JSON.parse(viaReplay.stdout), JSON.parse(viaDiff.stdout));
    });
  });

  describe('publish', () => {
    describe('when the version is already published with other content', () => {
      it('throws conflict through the API and exits 2 through the CLI', async () => {
        const text = await readFile(path.join(POLICIES, 'pol-v1.0.0.yaml'), 'utf8');

        await assert.rejects(
          stack
            .client()
            .json('POST', '/export/policies', {
              document: text.replace('riskScore: 95', 'riskScore: 90'),
            }),
          (err: StellaError) => err.code === 'conflict',
        );
        const copy = path.join(scratch, 'changed.yaml');
        await writeFile(copy, text.replace('riskScore: 95', 'riskScore: 90'));
        const result = await runCli(['policy', 'publish', copy], cliEnv);
        assert.equal(result.code, 2, result.stderr);
      });
    });

    describe('when the document breaks the format', () => {
      it('throws malformed_document naming the field', async () => {
        await assert.rejects(
          stack
            .client()
            .json('POST', '/export/policies', {
              document: 'schema: stella.policy/v1\nversion: v2\n',
            }),
          (err: StellaError) =>
            err.code === 'malformed_document' && err.message.includes('version'),
        );
      });
    });

    describe('when the same bytes are published again', () => {
      it('returns the stored version unchanged', async () => {
        const again = await publish(stack, 'pol-v1.0.0.yaml');
        const { policies } = await stack
          .client()
          .json<{ policies: { version: string }[] }>('GET', '/export/policies');

        assert.equal(again.version, 'pol-v1.0.0');
        assert.deepEqual(
          policies.map((p) => p.version),
          ['pol-v1.1.0', 'pol-v1.0.0'],
        );
      });
    });
  });
});

async function publish(stack: ExportStack, file: string) {
  const document = await readFile(path.join(POLICIES, file), 'utf8');

  return stack
    .client()
    .json<{ version: string; sha256: string }>('POST', '/export/policies', { document });
}


// A json:policy run body, pinned to a policy version or resolving the latest.
function pinned(policyVersion?: string): Record<string, unknown> {
  return { profileId: 'prof_json_policy', ...(policyVersion ? { policyVersion } : {}) };
}

async function readSummary(dir: string): Promise<EvaluationSummary> {
  return JSON.parse(await readFile(path.join(dir, FILES.evaluation), 'utf8')) as EvaluationSummary;
}

async function readDecisions(dir: string): Promise<PolicyDecision[]> {
  const all: PolicyDecision[] = [];
  for await (const line of readJsonlZst(path.join(dir, FILES.decisions)))
    all.push(JSON.parse(line) as PolicyDecision);

  return all;
}

async function readInputs(dir: string): Promise<FindingInput[]> {
  const all: FindingInput[] = [];
  for await (const line of readJsonlZst(path.join(dir, FILES.findingInputs)))
    all.push(JSON.parse(line) as FindingInput);

  return all;
}
