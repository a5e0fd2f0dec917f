import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DistributionView } from '../../api/routes/distributions.js';
import type { RunView } from '../../api/run-view.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import { runCli } from '../support/cli.js';
import { EVIDENCE, startExportStack, stellaEnv, type ExportStack } from '../support/export-stack.js';
import { registryAvailable, startRegistry, type TestRegistry } from '../support/registry.js';
import { exportAndWait } from '../support/runs.js';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

// The real registry in token mode: it answers 401 with a Bearer challenge naming a token
// service, and accepts only tokens signed by that service's certificate.
describe('OCI distribution to a registry that wants bearer tokens', {
  timeout: 600_000,
  skip: registryAvailable(),
}, () => {
  let stack: ExportStack;
  let registry: TestRegistry;
  let exported: RunView;

  before(async () => {
    registry = await startRegistry({ auth: 'token' });
    stack = await startExportStack();
    await ingestPaths(stack.db, 'default', [path.join(EVIDENCE, 'advisories', 'osv', 'go')]);
    exported = await exportAndWait(stack, { profileId: 'prof_json_raw' });
  });

  after(async () => {
    await stack?.stop();
    await registry?.stop();
  });

  describe('stella export distribute --oci with the right password', () => {
    let result: Awaited<ReturnType<typeof runCli>>;
    const repository = 'stella/token-flow';

    before(async () => {
      result = await distribute(stack, exported.id, `${registry.host}/${repository}:1`, {
        STELLA_OCI_USERNAME: registry.credentials!.username,
        STELLA_OCI_PASSWORD: registry.credentials!.password,
      });
    });

    it('exits 0 with a succeeded row', () => {
      const view = JSON.parse(result.stdout) as DistributionView;

      assert.equal(result.code, 0, result.stderr);
      assert.equal(view.state, 'succeeded');
    });

    it('obtained a push token for the repository from the token service', () => {
      const scopes = registry.tokenService!.issued.flatMap((token) => token.scopes);

      assert.ok(
        scopes.some((scope) => scope.startsWith(`repository:${repository}:`) && scope.includes('push')),
        JSON.stringify(scopes),
      );
    });

    it('returns the recorded manifest digest when the registry is read with a pull token', async () => {
      const view = JSON.parse(result.stdout) as DistributionView;
      const manifestUrl = `http://${registry.host}/v2/${repository}/manifests/1`;
      const anonymous = await fetch(manifestUrl, { headers: { accept: MANIFEST_TYPES } });
      const token = await registry.tokenService!.tokenFor(`repository:${repository}:pull`);
      const authorized = await fetch(manifestUrl, {
        headers: { accept: MANIFEST_TYPES, authorization: `Bearer ${token}` },
      });
      const body = Buffer.from(await authorized.arrayBuffer());

      assert.equal(anonymous.status, 401);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
      assert.equal(authorized.status, 200);
      assert.equal(`sha256:${createHash('sha256').update(body).digest('hex')}`, view.metadata.manifestDigest);
    });
  });

  describe('stella export distribute --oci with a wrong password', () => {
    it('exits 5 and names the error class denied', async () => {
      const refusedBefore = registry.tokenService!.refused;

      const result = await distribute(stack, exported.id, `${registry.host}/stella/token-denied:1`, {
        STELLA_OCI_USERNAME: registry.credentials!.username,
        STELLA_OCI_PASSWORD: 'not-the-password',
      });

      assert.equal(result.code, 5, result.stdout + result.stderr);
      assert.match(result.stderr, /denied/);
      assert.ok(registry.tokenService!.refused > refusedBefore);
    });
  });
});

function distribute(stack: ExportStack, runId: string, reference: string, env: NodeJS.ProcessEnv) {
  return runCli(
    ['--api-url', stack.api.url, 'export', 'distribute', runId, '--oci', reference, '--json'],
    { ...stellaEnv(stack.config), ...env },
  );
}
