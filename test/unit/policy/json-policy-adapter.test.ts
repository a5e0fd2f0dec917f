import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jsonPolicyAdapter } from '../../../adapters/json/json-policy-adapter.js';
import { canonicalJson } from '../../../bundle/canonical-json.js';
import { removeQuietly } from '../../../bundle/files.js';
import { StellaError } from '../../../domain/errors.js';
import type { ExportFilters } from '../../../domain/filters.js';
import { ingestPaths } from '../../../ingest/ingest-paths.js';
import { newRunId } from '../../../platform/ids.js';
import { POLICY_BUNDLE_FILES as FILES } from '../../../policy/bundle-layout.js';
import { readJsonlZst } from '../../../policy/read-jsonl-zst.js';
import { replayBundle } from '../../../policy/replay-bundle.js';
import { migrateDatabase, openDatabase, type Database } from '../../../store/database.js';
import { planRunInputs } from '../../../store/export-plan.js';
import { RunRecordSource } from '../../../store/export-records.js';
import { PolicyInputSource } from '../../../store/policy-inputs.js';
import { listPolicies, pinRunPolicy, publishPolicy } from '../../../store/policy-store.js';
import { EVIDENCE, FIXTURES } from '../../support/export-stack.js';

const POLICIES = path.join(FIXTURES, 'policies');

// A real SQLite store in a temp folder; runs are planned and written without Temporal.
describe('json:policy adapter and policy store', { timeout: 120_000 }, () => {
  let dir: string;
  let db: Database;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'stella-policy-unit-'));
    const databaseUrl = `file:${path.join(dir, 'stella.db')}`;
    await migrateDatabase(databaseUrl);
    db = await openDatabase(databaseUrl);
    await ingestPaths(db, 'default', [
      path.join(EVIDENCE, 'advisories', 'osv', 'ghsa', 'npm'),
      path.join(EVIDENCE, 'sboms', 'cyclonedx', 'cern-lhc-vdm-editor-e564943'),
      path.join(POLICIES, 'expected-packages.cdx.json'),
      path.join(POLICIES, 'lodash-vex.openvex.json'),
    ]);
  });

  after(async () => {
    await db?.$disconnect();
    await removeQuietly(dir);
  });

  async function createRun(tenant: string, policyVersion?: string, filters: ExportFilters = {}) {
    const runId = newRunId(tenant);
    await db.exportRun.create({
      data: {
        id: runId,
        tenant,
        profileId: 'prof_json_policy',
        profileKind: 'json:policy',
        trigger: 'api',
        state: 'writing',
        filters: canonicalJson(filters),
        workflowId: runId,
        createdAt: new Date(),
        policyVersion: policyVersion ?? null,
      },
    });
    await planRunInputs(db, tenant, runId, filters);

    return runId;
  }

  async function write(runId: string, profileConfig: Record<string, unknown> = {}) {
    const stagingDir = path.join(dir, 'bundles', runId);
    await mkdir(stagingDir, { recursive: true });
    const output = await jsonPolicyAdapter.write({
      stagingDir,
      source: new RunRecordSource(db, 'default', runId),
      profileConfig,
      runOptions: {},
      now: new Date(),
      completed: new Map(),
      onFileDone: () => undefined,
      onProgress: () => undefined,
    });

    return { stagingDir, output };
  }

  describe('publishPolicy', () => {
    it('returns created once, then the same record for the same bytes', async () => {
      const document = await readFile(path.join(POLICIES, 'pol-v1.0.0.yaml'), 'utf8');
      const first = await publishPolicy(db, 'default', { version: 'pol-v1.0.0', document });
      const again = await publishPolicy(db, 'default', { version: 'pol-v1.0.0', document });

      assert.equal(first.created, true);
      assert.equal(again.created, false);
      assert.deepEqual(again.policy, first.policy);
    });

    it('throws conflict for other bytes under a published version', async () => {
      await assert.rejects(
        publishPolicy(db, 'default', { version: 'pol-v1.0.0', document: 'other' }),
        (err: StellaError) => err.code === 'conflict',
      );
    });
  });

  describe('listPolicies', () => {
    it('returns versions newest first by number, and nothing of other tenants', async () => {
      for (const version of ['pol-v1.9.0', 'pol-v1.10.0', 'pol-v0.2.0']) {
        await publishPolicy(db, 'acme', { version, document: `version ${version}` });
      }

      assert.deepEqual(
        (await listPolicies(db, 'acme')).map((p) => p.version),
        ['pol-v1.10.0', 'pol-v1.9.0', 'pol-v0.2.0'],
      );
      assert.deepEqual(
        (await listPolicies(db, 'default')).map((p) => p.version),
        ['pol-v1.0.0'],
      );
    });
  });

  describe('pinRunPolicy', () => {
    describe('when the run names no version', () => {
      it('returns the latest and records it on the run, and keeps it once newer ones appear', async () => {
        const runId = await createRun('acme');
        const pinned = await pinRunPolicy(db, 'acme', runId);
        await publishPolicy(db, 'acme', { version: 'pol-v2.0.0', document: 'newer' });
        const again = await pinRunPolicy(db, 'acme', runId);

        assert.equal(pinned.version, 'pol-v1.10.0');
        assert.equal(again.version, 'pol-v1.10.0');
        assert.equal(
          (await db.exportRun.findFirst({ where: { id: runId } }))?.policyVersion,
          'pol-v1.10.0',
        );
      });
    });

    describe('when the tenant has no policy', () => {
      it('throws bad_request', async () => {
        const runId = await createRun('empty');

        await assert.rejects(
          pinRunPolicy(db, 'empty', runId),
          (err: StellaError) => err.code === 'bad_request',
        );
      });
    });

    describe('when the pinned version does not exist', () => {
      it('throws not_found', async () => {
        const runId = await createRun('default', 'pol-v9.9.9');

        await assert.rejects(
          pinRunPolicy(db, 'default', runId),
          (err: StellaError) => err.code === 'not_found',
        );
      });
    });
  });

  describe('PolicyInputSource.components', () => {
    it('returns every component of the planned SBOMs in plan then document order, only for that run', async () => {
      const runId = await createRun('default', 'pol-v1.0.0');
      const components = [];
      for await (const component of new PolicyInputSource(db, 'default', runId).components())
        components.push(component);
      const counts = await db.sbom.findMany({
        where: { tenant: 'default' },
        select: { componentCount: true },
      });
      const keys = components.map((c) => [c.sbomOrdinal, c.ordinal]);

      assert.equal(
        components.length,
        counts.reduce((sum, s) => sum + s.componentCount, 0),
      );
      assert.deepEqual(
        keys,
        [...keys].sort((a, b) => a[0] - b[0] || a[1] - b[1]),
      );
      assert.deepEqual(await collect(new PolicyInputSource(db, 'acme', runId).components()), []);
    });
  });

  describe('write', () => {
    it('returns a bundle that replays byte for byte, with the findings of both SBOMs', async () => {
      const runId = await createRun('default', 'pol-v1.0.0');
      const { stagingDir, output } = await write(runId);
      const result = await replayBundle(stagingDir);

      assert.equal(result.identical, true, JSON.stringify(result.differences));
      assert.equal(result.findings, output.counts.findings);
      assert.deepEqual(output.files.map((f) => f.path).sort(), Object.values(FILES).sort());
      // minimist@0.0.8 in the CERN editor SBOM: GHSA-vh95 and GHSA-xvch (EXPECTED.md).
      const decisions = await collect(readJsonlZst(path.join(stagingDir, FILES.decisions)));
      const minimist = decisions
        .map((line) => JSON.parse(line) as { purl: string; advisory: string })
        .filter((d) => d.purl === 'pkg:npm/minimist@0.0.8');
      assert.deepEqual(
        minimist.map((d) => d.advisory),
        ['GHSA-vh95-rmgr-6w4m', 'GHSA-xvch-5gv4-984h'],
      );
    });

    it('throws bad_request when replaying a folder that is no json:policy bundle', async () => {
      await assert.rejects(replayBundle(dir), (err: StellaError) => err.code === 'bad_request');
    });

    it('returns traces on each decision when the profile asks for them', async () => {
      const runId = await createRun('default', 'pol-v1.0.0');
      const { stagingDir } = await write(runId, { traces: true });
      const [first] = await collect(readJsonlZst(path.join(stagingDir, FILES.decisions)));

      assert.ok(Array.isArray((JSON.parse(first) as { trace?: unknown[] }).trace));
      assert.equal((await replayBundle(stagingDir)).identical, true);
    });
  });
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);

  return all;
}
