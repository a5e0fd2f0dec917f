import assert from 'node:assert/strict';
import { chmod, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, describe, it } from 'node:test';
import { base64url, calculateJwkThumbprint, compactVerify, importJWK } from 'jose';

import { StellaError } from '../../../domain/errors.js';
import {
  loadLocalSigner,
  markKeyCompromised,
  publishedJwks,
  rotateLocalKey,
} from '../../../signing/local-key-signer.js';
import { removeTemporaryDirs, temporaryDir } from './bundle-builder.js';

const PRIVATE_MARKERS = /PRIVATE KEY|"d"\s*:/;

async function registry(keysDir: string) {
  return JSON.parse(await readFile(join(keysDir, 'keys.json'), 'utf8'));
}

function rejectsWith(code: string, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof StellaError);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    assert.doesNotMatch(`${err.message} ${inspect(err)}`, PRIVATE_MARKERS);
    return true;
  };
}

describe('local key signer', () => {
  after(removeTemporaryDirs);

  describe('loadLocalSigner', () => {
    describe('when keysDir is empty', () => {
      for (const [algorithm, kty] of [['EdDSA', 'OKP'], ['ES256', 'EC']] as const) {
        it(`returns a ${algorithm} signer whose keyId is the RFC 7638 thumbprint`, async () => {
          const signer = await loadLocalSigner({ keysDir: await temporaryDir('keys'), algorithm });
          const jwk = await signer.publicJwk();

          assert.equal(signer.algorithm, algorithm);
          assert.equal(jwk.kty, kty);
          assert.deepEqual([jwk.kid, jwk.alg, jwk.use], [signer.keyId, algorithm, 'sig']);
          assert.equal(await calculateJwkThumbprint(jwk, 'sha256'), signer.keyId);
          assert.equal(jwk.d, undefined);
        });
      }

      it('writes the private key as PKCS#8 PEM with mode 0600', async () => {
        const keysDir = await temporaryDir('keys');
        const signer = await loadLocalSigner({ keysDir });
        const path = join(keysDir, `${signer.keyId}.pem`);

        assert.equal((await stat(path)).mode & 0o777, 0o600);
        assert.match(await readFile(path, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
      });

      it('records the key as active in keys.json without private material', async () => {
        const keysDir = await temporaryDir('keys');
        const signer = await loadLocalSigner({ keysDir });
        const text = await readFile(join(keysDir, 'keys.json'), 'utf8');
        const [entry] = JSON.parse(text).keys;

        assert.deepEqual([entry.keyId, entry.status], [signer.keyId, 'active']);
        assert.ok(!Number.isNaN(Date.parse(entry.createdAt)));
        assert.doesNotMatch(text, PRIVATE_MARKERS);
      });
    });

    describe('when called again on the same keysDir', () => {
      it('returns the same key', async () => {
        const keysDir = await temporaryDir('keys');
        const first = await loadLocalSigner({ keysDir });
        const second = await loadLocalSigner({ keysDir });

        assert.equal(second.keyId, first.keyId);
        assert.equal((await registry(keysDir)).keys.length, 1);
      });
    });

    describe('when called concurrently on an empty keysDir', () => {
      it('returns one key to every caller', async () => {
        const keysDir = await temporaryDir('keys');
        const signers = await Promise.all(
          Array.from({ length: 5 }, () => loadLocalSigner({ keysDir })),
        );

        assert.equal(new Set(signers.map((signer) => signer.keyId)).size, 1);
        assert.equal((await readdir(keysDir)).filter((name) => name.endsWith('.pem')).length, 1);
      });
    });

    describe('when the active key has another algorithm', () => {
      it('throws conflict', async () => {
        const keysDir = await temporaryDir('keys');
        await loadLocalSigner({ keysDir, algorithm: 'EdDSA' });

        await assert.rejects(
          loadLocalSigner({ keysDir, algorithm: 'ES256' }),
          rejectsWith('conflict', /is EdDSA, not ES256/),
        );
      });
    });

    describe('when the private key file is readable by others', () => {
      it('throws denied without revealing the key', async () => {
        const keysDir = await temporaryDir('keys');
        const signer = await loadLocalSigner({ keysDir });
        await chmod(join(keysDir, `${signer.keyId}.pem`), 0o644);

        await assert.rejects(loadLocalSigner({ keysDir }), rejectsWith('denied', /mode 644/));
      });
    });

    describe('when the active key is compromised', () => {
      it('throws conflict until the key is rotated', async () => {
        const keysDir = await temporaryDir('keys');
        const signer = await loadLocalSigner({ keysDir });
        await markKeyCompromised({ keysDir, keyId: signer.keyId });

        await assert.rejects(loadLocalSigner({ keysDir }), rejectsWith('conflict', /no active/));
        const rotated = await rotateLocalKey({ keysDir });
        assert.equal((await loadLocalSigner({ keysDir })).keyId, rotated.keyId);
        assert.deepEqual(rotated.retired, []);
      });
    });
  });

  describe('signDetached', () => {
    for (const algorithm of ['EdDSA', 'ES256'] as const) {
      it(`returns a ${algorithm} compact JWS, payload detached, that jose verifies`, async () => {
        const signer = await loadLocalSigner({ keysDir: await temporaryDir('keys'), algorithm });
        const payload = new TextEncoder().encode('{"schema":"x"}');

        const jws = await signer.signDetached(payload);

        const [header, middle, signature] = jws.split('.');
        assert.equal(middle, '');
        const key = await importJWK(await signer.publicJwk(), algorithm);
        const full = `${header}.${base64url.encode(payload)}.${signature}`;
        const { protectedHeader } = await compactVerify(full, key);
        assert.deepEqual(protectedHeader, { alg: algorithm, kid: signer.keyId });
      });
    }
  });

  describe('rotateLocalKey', () => {
    describe('when a key is active', () => {
      it('returns a new active key and retires the old one', async () => {
        const keysDir = await temporaryDir('keys');
        const old = await loadLocalSigner({ keysDir, algorithm: 'ES256' });

        const rotated = await rotateLocalKey({ keysDir });

        assert.deepEqual(rotated.retired, [old.keyId]);
        const statuses = (await registry(keysDir)).keys.map((k: { status: string }) => k.status);
        assert.deepEqual(statuses, ['retired', 'active']);
        const current = await loadLocalSigner({ keysDir });
        assert.deepEqual([current.keyId, current.algorithm], [rotated.keyId, 'ES256']);
      });
    });
  });

  describe('markKeyCompromised', () => {
    describe('when the key id is unknown', () => {
      it('throws not_found', async () => {
        const keysDir = await temporaryDir('keys');
        await loadLocalSigner({ keysDir });

        await assert.rejects(
          markKeyCompromised({ keysDir, keyId: 'nope' }),
          rejectsWith('not_found', /no signing key nope/),
        );
      });
    });
  });

  describe('publishedJwks', () => {
    describe('when keys are active, retired and compromised', () => {
      it('returns every public half with its status and no private member', async () => {
        const keysDir = await temporaryDir('keys');
        const first = await loadLocalSigner({ keysDir });
        const second = await rotateLocalKey({ keysDir, algorithm: 'ES256' });
        const third = await rotateLocalKey({ keysDir });
        await markKeyCompromised({ keysDir, keyId: first.keyId });

        const jwks = await publishedJwks({ keysDir });

        const statuses = jwks.keys.map((jwk) => [jwk.kid, jwk.status]);
        assert.deepEqual(statuses, [
          [first.keyId, 'compromised'],
          [second.keyId, 'retired'],
          [third.keyId, 'active'],
        ]);
        assert.doesNotMatch(JSON.stringify(jwks), PRIVATE_MARKERS);
      });
    });

    describe('when keysDir holds no registry', () => {
      it('returns an empty key set', async () => {
        const keysDir = await temporaryDir('keys');

        assert.deepEqual(await publishedJwks({ keysDir }), { keys: [] });
      });
    });
  });

  describe('a signer object', () => {
    it('reveals no private material when serialised or inspected', async () => {
      const signer = await loadLocalSigner({ keysDir: await temporaryDir('keys') });

      assert.doesNotMatch(JSON.stringify(signer), PRIVATE_MARKERS);
      assert.doesNotMatch(inspect(signer, { depth: 10, showHidden: true }), PRIVATE_MARKERS);
      assert.doesNotMatch(JSON.stringify(await signer.publicJwk()), PRIVATE_MARKERS);
    });
  });
});
