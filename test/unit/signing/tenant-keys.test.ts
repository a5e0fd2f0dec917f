import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { StellaError } from '../../../domain/errors.js';
import { loadLocalSigner } from '../../../signing/local-key-signer.js';
import { publishKmsKey } from '../../../signing/kms-key-publication.js';
import { loadConfiguredSigner, signerConfigFromEnv } from '../../../signing/signer-config.js';
import {
  loadTenantSigner,
  markTenantKeyCompromised,
  rotateTenantKey,
  tenantJwks,
  tenantKeysDir,
} from '../../../signing/tenant-keys.js';
import { verifyBundle } from '../../../signing/verify-bundle.js';
import { buildBundle, removeTemporaryDirs, temporaryDir } from './bundle-builder.js';

function rejectsWith(code: string, pattern: RegExp) {
  return (err: unknown) =>
    err instanceof StellaError && err.code === code && pattern.test(err.message);
}

async function statuses(keysDir: string, tenant: string): Promise<Record<string, unknown>> {
  const { keys } = await tenantJwks({ keysDir, tenant });

  return Object.fromEntries(keys.map((key) => [key.kid, key.status]));
}

describe('tenant signing keys', () => {
  after(removeTemporaryDirs);

  describe('loadConfiguredSigner', () => {
    describe('when two tenants sign with local keys', () => {
      it('returns a different key for each, kept in each tenant\'s folder', async () => {
        const config = signerConfigFromEnv({}, await temporaryDir('keys'));

        const a = await loadConfiguredSigner(config, 'tenant-a');
        const b = await loadConfiguredSigner(config, 'tenant-b');

        assert.notEqual(a.keyId, b.keyId);
        const pems = await readdir(tenantKeysDir(config.keysDir, 'tenant-a'));
        assert.ok(pems.includes(`${a.keyId}.pem`));
        assert.equal(pems.includes(`${b.keyId}.pem`), false);
      });
    });

    describe('when tenant B rotates its key', () => {
      it('returns tenant A\'s same key as before', async () => {
        const config = signerConfigFromEnv({}, await temporaryDir('keys'));
        const before = await loadConfiguredSigner(config, 'tenant-a');
        await loadConfiguredSigner(config, 'tenant-b');

        const rotated = await rotateTenantKey({ keysDir: config.keysDir, tenant: 'tenant-b' });

        assert.equal((await loadConfiguredSigner(config, 'tenant-a')).keyId, before.keyId);
        assert.equal((await loadConfiguredSigner(config, 'tenant-b')).keyId, rotated.keyId);
      });
    });

    describe('when tenant B marks its key compromised', () => {
      it('returns tenant A\'s signer unchanged and refuses B until B rotates', async () => {
        const config = signerConfigFromEnv({}, await temporaryDir('keys'));
        const a = await loadConfiguredSigner(config, 'tenant-a');
        const b = await loadConfiguredSigner(config, 'tenant-b');

        await markTenantKeyCompromised({ keysDir: config.keysDir, tenant: 'tenant-b',
          keyId: b.keyId });

        assert.equal((await loadConfiguredSigner(config, 'tenant-a')).keyId, a.keyId);
        await assert.rejects(loadConfiguredSigner(config, 'tenant-b'),
          rejectsWith('conflict', /no active signing key/));
      });
    });

    describe('when the tenant name could name another folder', () => {
      it('throws bad_request', async () => {
        const config = signerConfigFromEnv({}, await temporaryDir('keys'));

        await assert.rejects(loadConfiguredSigner(config, '../tenant-a'),
          rejectsWith('bad_request', /not a tenant name/));
      });
    });
  });

  describe('tenantJwks', () => {
    describe('when two tenants have keys', () => {
      it('returns only the asked tenant\'s keys', async () => {
        const keysDir = await temporaryDir('keys');
        const a = await loadTenantSigner({ keysDir, tenant: 'tenant-a' });
        const b = await loadTenantSigner({ keysDir, tenant: 'tenant-b' });
        const rotated = await rotateTenantKey({ keysDir, tenant: 'tenant-b' });

        const jwks = await tenantJwks({ keysDir, tenant: 'tenant-a' });

        assert.deepEqual(jwks.keys.map((key) => [key.kid, key.status]), [[a.keyId, 'active']]);
        assert.deepEqual(await statuses(keysDir, 'tenant-b'),
          { [b.keyId]: 'retired', [rotated.keyId]: 'active' });
      });
    });

    describe('when the deployment has keys from before keys were per tenant', () => {
      it('returns them retired to every tenant, so old bundles still verify', async () => {
        const keysDir = await temporaryDir('keys');
        const legacy = await loadLocalSigner({ keysDir });
        const oldBundle = await buildBundle(legacy);
        const own = await loadTenantSigner({ keysDir, tenant: 'tenant-a' });

        const jwks = await tenantJwks({ keysDir, tenant: 'tenant-a' });

        assert.deepEqual(await statuses(keysDir, 'tenant-a'),
          { [legacy.keyId]: 'retired', [own.keyId]: 'active' });
        const result = await verifyBundle({ bundleDir: oldBundle, jwks });
        assert.deepEqual([result.ok, result.warnings], [true, [`key ${legacy.keyId} is retired`]]);
      });
    });

    describe('when the tenant has never signed', () => {
      it('returns no keys (or the deployment-era ones) whatever the name', async () => {
        const keysDir = await temporaryDir('keys');

        assert.deepEqual(await tenantJwks({ keysDir, tenant: 'nobody' }), { keys: [] });
      });
    });
  });

  describe('markTenantKeyCompromised', () => {
    describe('when a tenant marks a deployment-era key', () => {
      it('returns it compromised for that tenant only', async () => {
        const keysDir = await temporaryDir('keys');
        const legacy = await loadLocalSigner({ keysDir });
        const bundleDir = await buildBundle(legacy);

        await markTenantKeyCompromised({ keysDir, tenant: 'tenant-a', keyId: legacy.keyId });

        const forA = await tenantJwks({ keysDir, tenant: 'tenant-a' });
        const forB = await tenantJwks({ keysDir, tenant: 'tenant-b' });
        assert.equal((await verifyBundle({ bundleDir, jwks: forA })).ok, false);
        assert.equal((await verifyBundle({ bundleDir, jwks: forB })).ok, true);
        assert.equal((await loadLocalSigner({ keysDir })).keyId, legacy.keyId);
      });
    });

    describe('when the key is another tenant\'s', () => {
      it('throws not_found and changes nothing', async () => {
        const keysDir = await temporaryDir('keys');
        const b = await loadTenantSigner({ keysDir, tenant: 'tenant-b' });
        await loadTenantSigner({ keysDir, tenant: 'tenant-a' });

        await assert.rejects(
          markTenantKeyCompromised({ keysDir, tenant: 'tenant-a', keyId: b.keyId }),
          rejectsWith('not_found', /tenant tenant-a has no signing key/),
        );
        assert.deepEqual(await statuses(keysDir, 'tenant-b'), { [b.keyId]: 'active' });
      });
    });
  });

  describe('publishKmsKey', () => {
    describe('when tenants share the default KMS key and one marks it compromised', () => {
      it('throws conflict for that tenant only', async () => {
        const keysDir = await temporaryDir('keys');
        const kms = await loadLocalSigner({ keysDir: await temporaryDir('kms-stand-in'),
          algorithm: 'ES256' });
        for (const tenant of ['tenant-a', 'tenant-b']) {
          await publishKmsKey({ keysDir: tenantKeysDir(keysDir, tenant),
            kmsKeyId: 'alias/default', signer: kms });
        }

        await markTenantKeyCompromised({ keysDir, tenant: 'tenant-a', keyId: kms.keyId });

        const publishFor = (tenant: string) => publishKmsKey({
          keysDir: tenantKeysDir(keysDir, tenant), kmsKeyId: 'alias/default', signer: kms });
        await assert.rejects(publishFor('tenant-a'), rejectsWith('conflict', /compromised/));
        await publishFor('tenant-b');
        assert.deepEqual(await statuses(keysDir, 'tenant-b'), { [kms.keyId]: 'active' });
      });
    });
  });

  describe('signerConfigFromEnv', () => {
    describe('when STELLA_KMS_TENANT_KEYS names a tenant\'s own key', () => {
      it('returns the map beside the default key', () => {
        const env = { STELLA_SIGNER: 'kms', STELLA_KMS_KEY_ID: 'alias/default',
          STELLA_KMS_TENANT_KEYS: '{"acme":"alias/acme"}' };

        const config = signerConfigFromEnv(env, '/keys');

        assert.deepEqual(config, { kind: 'kms', keysDir: '/keys', kmsKeyId: 'alias/default',
          endpoint: undefined, tenantKmsKeyIds: { acme: 'alias/acme' } });
      });
    });

    describe('when STELLA_KMS_TENANT_KEYS is not a map of tenants', () => {
      it('throws bad_request', () => {
        const env = { STELLA_SIGNER: 'kms', STELLA_KMS_KEY_ID: 'alias/default',
          STELLA_KMS_TENANT_KEYS: '{"../x":"alias/x"}' };

        assert.throws(() => signerConfigFromEnv(env, '/keys'),
          rejectsWith('bad_request', /STELLA_KMS_TENANT_KEYS/));
      });
    });
  });
});

describe('tenantKeysDir', () => {
  describe('when the tenant name is valid', () => {
    it('returns a folder under tenants/', () => {
      assert.equal(tenantKeysDir('/keys', 'acme'), join('/keys', 'tenants', 'acme'));
    });
  });
});
