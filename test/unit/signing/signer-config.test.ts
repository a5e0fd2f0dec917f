import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { StellaError } from '../../../domain/errors.js';
import { publishKmsKey } from '../../../signing/kms-key-publication.js';
import {
  loadLocalSigner,
  markKeyCompromised,
  publishedJwks,
  rotateLocalKey,
} from '../../../signing/local-key-signer.js';
import { loadConfiguredSigner, signerConfigFromEnv } from '../../../signing/signer-config.js';
import type { Signer } from '../../../signing/signer.js';
import { removeTemporaryDirs, temporaryDir } from './bundle-builder.js';

function rejectsWith(code: string, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof StellaError);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  };
}

// Stands in for a KMS signer: publication only reads the public half and the key id.
async function standInKmsSigner(): Promise<Signer> {
  return loadLocalSigner({ keysDir: await temporaryDir('kms-stand-in'), algorithm: 'ES256' });
}

async function statuses(keysDir: string): Promise<Record<string, string | undefined>> {
  const { keys } = await publishedJwks({ keysDir });

  return Object.fromEntries(keys.map((key) => [key.kid as string, key.status]));
}

describe('signer configuration', () => {
  after(removeTemporaryDirs);

  describe('signerConfigFromEnv', () => {
    describe('when STELLA_SIGNER is unset', () => {
      it('returns the local signer over the keys folder', () => {
        assert.deepEqual(signerConfigFromEnv({}, '/keys'), { kind: 'local', keysDir: '/keys' });
      });
    });

    describe('when STELLA_SIGNER is kms with a key alias and an endpoint', () => {
      it('returns the kms signer with both', () => {
        const env = {
          STELLA_SIGNER: 'kms',
          STELLA_KMS_KEY_ID: 'alias/stella',
          STELLA_KMS_ENDPOINT: 'http://127.0.0.1:4566',
        };

        assert.deepEqual(signerConfigFromEnv(env, '/keys'), {
          kind: 'kms',
          keysDir: '/keys',
          kmsKeyId: 'alias/stella',
          endpoint: 'http://127.0.0.1:4566',
        });
      });
    });

    describe('when STELLA_SIGNER is kms without STELLA_KMS_KEY_ID', () => {
      it('throws bad_request naming the missing variable', () => {
        assert.throws(
          () => signerConfigFromEnv({ STELLA_SIGNER: 'kms' }, '/keys'),
          rejectsWith('bad_request', /STELLA_KMS_KEY_ID/),
        );
      });
    });

    describe('when STELLA_SIGNER names an unknown signer', () => {
      it('throws bad_request listing the choices', () => {
        assert.throws(
          () => signerConfigFromEnv({ STELLA_SIGNER: 'hsm' }, '/keys'),
          rejectsWith('bad_request', /use local or kms/),
        );
      });
    });
  });

  describe('loadConfiguredSigner', () => {
    describe('when the local key is rotated between two loads', () => {
      it('returns a signer with the new key on the second load', async () => {
        const config = signerConfigFromEnv({}, await temporaryDir('keys'));
        const first = await loadConfiguredSigner(config);
        const rotated = await rotateLocalKey({ keysDir: config.keysDir });

        const second = await loadConfiguredSigner(config);

        assert.notEqual(first.keyId, second.keyId);
        assert.equal(second.keyId, rotated.keyId);
      });
    });

    describe('when the active local key is marked compromised', () => {
      it('throws conflict asking for a rotation', async () => {
        const config = signerConfigFromEnv({}, await temporaryDir('keys'));
        const signer = await loadConfiguredSigner(config);
        await markKeyCompromised({ keysDir: config.keysDir, keyId: signer.keyId });

        await assert.rejects(loadConfiguredSigner(config), rejectsWith('conflict', /rotate/));
      });
    });
  });

  describe('publishKmsKey', () => {
    describe('when the registry is empty', () => {
      it('records the key as active with its KMS key id and no private material', async () => {
        const keysDir = await temporaryDir('keys');
        const signer = await standInKmsSigner();

        await publishKmsKey({ keysDir, kmsKeyId: 'alias/stella', signer });

        const text = await readFile(join(keysDir, 'keys.json'), 'utf8');
        const [entry] = JSON.parse(text).keys;
        assert.deepEqual([entry.keyId, entry.status, entry.kmsKeyId], [
          signer.keyId,
          'active',
          'alias/stella',
        ]);
        assert.equal(entry.privateKeyFile, undefined);
        assert.doesNotMatch(text, /PRIVATE KEY|"d"\s*:/);
      });
    });

    describe('when the alias moves to a new KMS key', () => {
      it('returns the old KMS key retired and the new one active', async () => {
        const keysDir = await temporaryDir('keys');
        const [old, next] = [await standInKmsSigner(), await standInKmsSigner()];

        await publishKmsKey({ keysDir, kmsKeyId: 'alias/stella', signer: old });
        await publishKmsKey({ keysDir, kmsKeyId: 'alias/stella', signer: next });

        const expected = { [old.keyId]: 'retired', [next.keyId]: 'active' };
        assert.deepEqual(await statuses(keysDir), expected);
      });
    });

    describe('when the KMS key is marked compromised', () => {
      it('throws conflict naming the key', async () => {
        const keysDir = await temporaryDir('keys');
        const signer = await standInKmsSigner();
        await publishKmsKey({ keysDir, kmsKeyId: 'alias/stella', signer });
        await markKeyCompromised({ keysDir, keyId: signer.keyId });

        await assert.rejects(
          publishKmsKey({ keysDir, kmsKeyId: 'alias/stella', signer }),
          rejectsWith('conflict', /alias\/stella .* is marked compromised/),
        );
      });
    });

    describe('when local keys share the registry', () => {
      it('leaves the local key active and the local signer on it', async () => {
        const keysDir = await temporaryDir('keys');
        const local = await loadLocalSigner({ keysDir });
        const kms = await standInKmsSigner();

        await publishKmsKey({ keysDir, kmsKeyId: 'alias/stella', signer: kms });
        const reloaded = await loadLocalSigner({ keysDir });

        assert.equal(reloaded.keyId, local.keyId);
        const expected = { [local.keyId]: 'active', [kms.keyId]: 'active' };
        assert.deepEqual(await statuses(keysDir), expected);
      });
    });

    describe('when only a KMS key is registered and the local signer loads', () => {
      it('returns a new local key beside the KMS key', async () => {
        const keysDir = await temporaryDir('keys');
        const kms = await standInKmsSigner();
        await publishKmsKey({ keysDir, kmsKeyId: 'alias/stella', signer: kms });

        const local = await loadLocalSigner({ keysDir });

        assert.notEqual(local.keyId, kms.keyId);
        assert.equal(Object.keys(await statuses(keysDir)).length, 2);
      });
    });
  });
});
