// loadKmsSigner against moto's KMS emulator, started here on a free 127.0.0.1 port.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { constants, createPublicKey, verify } from 'node:crypto';
import { createServer } from 'node:net';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  UpdateAliasCommand,
  type KeySpec,
} from '@aws-sdk/client-kms';
import { calculateJwkThumbprint } from 'jose';

import { bundlePaths } from '../../activities/bundle-paths.js';
import type { RunView } from '../../api/run-view.js';
import { waitForRun } from '../../cli/wait-for-run.js';
import { StellaError } from '../../domain/errors.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import { signInTotoStatement, verifyDsse } from '../../signing/dsse.js';
import { createKmsClient, loadKmsSigner } from '../../signing/kms-signer.js';
import type { JWKS } from '../../signing/signer.js';
import { tenantKeysDir } from '../../signing/tenant-keys.js';
import { verifyBundle } from '../../signing/verify-bundle.js';
import { EVIDENCE, startExportStack, type ExportStack } from '../support/export-stack.js';
import { buildBundle, removeTemporaryDirs } from '../unit/signing/bundle-builder.js';

const MOTO = 'moto_server';
const motoMissing = spawnSync(MOTO, ['--help']).error !== undefined;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));

  return port;
}

async function waitForHttp(url: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const up = await fetch(url).then(() => true, () => false);
    if (up) return;
    await sleep(100);
  }
  throw new Error(`${url} did not answer`);
}

async function createSigningKey(keySpec: KeySpec): Promise<string> {
  const response = await createKmsClient().send(
    new CreateKeyCommand({ KeySpec: keySpec, KeyUsage: 'SIGN_VERIFY' }),
  );

  return response.KeyMetadata!.KeyId!;
}

let moto: ChildProcess | undefined;

before(async () => {
  if (motoMissing) return;

  const port = await freePort();
  moto = spawn(MOTO, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  // Dummy values: moto accepts any credentials, and nothing here may reach real AWS.
  process.env.STELLA_KMS_ENDPOINT = `http://127.0.0.1:${port}`;
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'moto';
  process.env.AWS_SECRET_ACCESS_KEY = 'moto';
  await waitForHttp(process.env.STELLA_KMS_ENDPOINT);
});

after(async () => {
  moto?.kill();
  await removeTemporaryDirs();
});

describe('loadKmsSigner', { skip: motoMissing && `${MOTO} is not on PATH` }, () => {
  describe('when the key is ECC_NIST_P256', () => {
    it('returns an ES256 signer whose keyId is the public key thumbprint', async () => {
      const signer = await loadKmsSigner({ keyId: await createSigningKey('ECC_NIST_P256') });
      const jwk = await signer.publicJwk();

      assert.equal(signer.algorithm, 'ES256');
      assert.deepEqual([jwk.kty, jwk.crv, jwk.alg, jwk.use], ['EC', 'P-256', 'ES256', 'sig']);
      assert.equal(await calculateJwkThumbprint(jwk, 'sha256'), signer.keyId);
    });

    it('returns signatures that verifyBundle accepts', async () => {
      const signer = await loadKmsSigner({ keyId: await createSigningKey('ECC_NIST_P256') });
      const bundleDir = await buildBundle(signer);

      const result = await verifyBundle({ bundleDir, jwks: { keys: [await signer.publicJwk()] } });

      assert.deepEqual(result.failures, []);
      assert.equal(result.keyId, signer.keyId);
    });

    it('returns DSSE envelopes that verifyDsse accepts', async () => {
      const signer = await loadKmsSigner({ keyId: await createSigningKey('ECC_NIST_P256') });
      const envelope = await signInTotoStatement(signer, { _type: 'x', subject: [] });

      const result = await verifyDsse(envelope, { keys: [await signer.publicJwk()] });

      assert.deepEqual([result.ok, result.keyIds], [true, [signer.keyId]]);
    });
  });

  describe('when the key is named by alias', () => {
    it('returns the same key id as by key id', async () => {
      const kmsKeyId = await createSigningKey('ECC_NIST_P256');
      const alias = `alias/stella-export-${kmsKeyId.slice(0, 8)}`;
      const command = new CreateAliasCommand({ AliasName: alias, TargetKeyId: kmsKeyId });
      await createKmsClient().send(command);

      const byAlias = await loadKmsSigner({ keyId: alias });
      const byId = await loadKmsSigner({ keyId: kmsKeyId });

      assert.equal(byAlias.keyId, byId.keyId);
    });
  });

  describe('when the key is RSA_2048', () => {
    it('returns a PS256 signer whose signatures cover the exact bytes', async () => {
      const signer = await loadKmsSigner({ keyId: await createSigningKey('RSA_2048') });
      const bytes = Buffer.from('signing input');

      const signature = await signer.signRaw(bytes);

      assert.equal(signer.algorithm, 'PS256');
      // moto pads PSS with the largest salt, where AWS (and PS256) use 32 bytes; a PS256
      // verifier rejects moto's signatures, so the salt length is left to auto-detection here.
      const key = createPublicKey({ key: (await signer.publicJwk()) as never, format: 'jwk' });
      const pss = { key, padding: constants.RSA_PKCS1_PSS_PADDING };
      const options = { ...pss, saltLength: constants.RSA_PSS_SALTLEN_AUTO };
      assert.ok(verify('sha256', bytes, options, signature));
    });
  });

  describe('when the key does not exist', () => {
    it('throws not_found', async () => {
      await assert.rejects(
        loadKmsSigner({ keyId: 'alias/does-not-exist' }),
        (err: unknown) => err instanceof StellaError && err.code === 'not_found',
      );
    });
  });
});

describe('export worker with STELLA_SIGNER=kms', {
  skip: motoMissing && `${MOTO} is not on PATH`,
  timeout: 180_000,
}, () => {
  const alias = 'alias/stella-export-worker';
  const acmeAlias = 'alias/stella-export-acme';
  let stack: ExportStack;
  let firstKms: string;

  before(async () => {
    firstKms = await createSigningKey('ECC_NIST_P256');
    const command = new CreateAliasCommand({ AliasName: alias, TargetKeyId: firstKms });
    await createKmsClient().send(command);
    const acmeKms = await createSigningKey('ECC_NIST_P256');
    await createKmsClient().send(new CreateAliasCommand({ AliasName: acmeAlias,
      TargetKeyId: acmeKms }));
    // The workers (child processes) and the in-process API both read these.
    process.env.STELLA_SIGNER = 'kms';
    process.env.STELLA_KMS_KEY_ID = alias;
    process.env.STELLA_KMS_TENANT_KEYS = JSON.stringify({ acme: acmeAlias });
    stack = await startExportStack();
    // One advisory keeps every signing input under 4096 bytes, so KMS gets it RAW: moto does
    // not implement MessageType DIGEST (it hashes the digest again), which real KMS does.
    // The DIGEST path (kms-signer.ts) is therefore not covered by an emulator here.
    const advisory = path.join(EVIDENCE, 'advisories/osv/go/GO-2020-0001.json');
    await ingestPaths(stack.db, 'default', [advisory]);
    await ingestPaths(stack.db, 'acme', [advisory]);
  });

  after(async () => {
    await stack?.stop();
    delete process.env.STELLA_SIGNER;
    delete process.env.STELLA_KMS_KEY_ID;
    delete process.env.STELLA_KMS_TENANT_KEYS;
  });

  describe('when a tenant has a KMS key of its own', () => {
    it('returns its runs signed by that key, listed in its JWKS only', async () => {
      const acmeSigner = await loadKmsSigner({ keyId: acmeAlias });
      const run = await exportAndWait(stack, 'acme');

      const jwks = await stack.client('acme').json<JWKS>('GET', '/export/jwks?tenant=acme');
      const bundleDir = bundlePaths(stack.config, { tenant: 'acme', runId: run.id }).final;
      const result = await verifyBundle({ bundleDir, jwks });

      assert.deepEqual([result.failures, result.keyId], [[], acmeSigner.keyId]);
      const ofDefault = await stack.client().json<JWKS>('GET', '/export/jwks?tenant=default');
      assert.equal(ofDefault.keys.some((key) => key.kid === acmeSigner.keyId), false);
    });
  });

  describe('when a run is signed', () => {
    it('returns a bundle signed by the KMS key that verifies with the tenant\'s JWKS', async () => {
      const kmsSigner = await loadKmsSigner({ keyId: alias });
      const run = await exportAndWait(stack);

      const jwks = await stack.client().json<JWKS>('GET', '/export/jwks?tenant=default');
      const result = await verifyBundle({ bundleDir: bundleOf(stack, run.id), jwks });

      assert.deepEqual(result.failures, []);
      assert.equal(result.keyId, kmsSigner.keyId);
      const published = jwks.keys.map((key) => [key.kid, key.status]);
      assert.deepEqual(published, [[kmsSigner.keyId, 'active']]);
    });

    it('writes no private key file and records the key by its alias only', async () => {
      const names = await readdir(stack.config.keysDir, { recursive: true });
      const tenantDir = tenantKeysDir(stack.config.keysDir, 'default');
      const registry = await readFile(path.join(tenantDir, 'keys.json'), 'utf8');

      assert.deepEqual(names.filter((name) => name.endsWith('.pem')), []);
      assert.equal(JSON.parse(registry).keys[0].kmsKeyId, alias);
    });
  });

  describe('when the alias is moved to a new KMS key', () => {
    it('returns the next run signed by the new key and the old key retired', async () => {
      const nextKms = await createSigningKey('ECC_NIST_P256');
      const command = new UpdateAliasCommand({ AliasName: alias, TargetKeyId: nextKms });
      await createKmsClient().send(command);
      const nextSigner = await loadKmsSigner({ keyId: nextKms });

      const run = await exportAndWait(stack);

      const jwks = await stack.client().json<JWKS>('GET', '/export/jwks?tenant=default');
      const result = await verifyBundle({ bundleDir: bundleOf(stack, run.id), jwks });
      assert.equal(result.keyId, nextSigner.keyId);
      assert.deepEqual(jwks.keys.map((key) => key.status), ['retired', 'active']);
    });
  });

  describe('when a local rotation is asked for', () => {
    it('throws conflict: KMS keys rotate in KMS', async () => {
      await assert.rejects(
        stack.client().json('POST', '/export/keys/rotate', {}),
        (err: unknown) => err instanceof StellaError && err.code === 'conflict',
      );
    });
  });
});

async function exportAndWait(stack: ExportStack, tenant = 'default'): Promise<RunView> {
  const api = stack.client(tenant);
  const created = await api.json<RunView>('POST', '/export/runs', { profileId: 'prof_json_raw' });
  const run = await waitForRun(api, created.id, { quiet: true, intervalMs: 200 });
  assert.equal(run.state, 'succeeded', `${run.errorClass}: ${run.errorMessage}`);

  return run;
}

function bundleOf(stack: ExportStack, runId: string): string {
  return bundlePaths(stack.config, { tenant: 'default', runId }).final;
}
