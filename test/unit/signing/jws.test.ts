import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { base64url } from 'jose';

import { signDetachedJws, verifyDetachedJws } from '../../../signing/jws.js';
import { publicJwkOf, signWithKey } from '../../../signing/key-material.js';
import { loadLocalSigner, publishedJwks } from '../../../signing/local-key-signer.js';
import type { JWKS, Signer } from '../../../signing/signer.js';
import { removeTemporaryDirs, temporaryDir } from './bundle-builder.js';

const PAYLOAD = new TextEncoder().encode('{"schema":"stella.export-manifest/v1"}');

async function keyed(): Promise<{ signer: Signer; jwks: JWKS }> {
  const keysDir = await temporaryDir('keys');
  const signer = await loadLocalSigner({ keysDir });

  return { signer, jwks: await publishedJwks({ keysDir }) };
}

// Signs with the real key but lets the test choose the protected header.
async function signWithHeader(signer: Signer, header: Record<string, unknown>): Promise<string> {
  const encoded = base64url.encode(JSON.stringify(header));
  const input = new TextEncoder().encode(`${encoded}.${base64url.encode(PAYLOAD)}`);

  return `${encoded}..${base64url.encode(await signer.signRaw(input))}`;
}

describe('verifyDetachedJws', () => {
  after(removeTemporaryDirs);

  describe('when the JWS is intact', () => {
    it('returns ok with the key id and status', async () => {
      const { signer, jwks } = await keyed();
      const header = { alg: 'EdDSA' as const, kid: signer.keyId };
      const jws = await signDetachedJws(header, PAYLOAD, signer.signRaw);

      const verdict = await verifyDetachedJws(jws, PAYLOAD, jwks);

      assert.deepEqual(verdict, { ok: true, keyId: signer.keyId, keyStatus: 'active' });
    });
  });

  describe('when the JWS is PS256 (the KMS RSA algorithm)', () => {
    it('returns ok: the RSA-PSS parameters match what jose expects', async () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const jwk = await publicJwkOf('PS256', createPublicKey(privateKey));
      const signRaw = async (bytes: Uint8Array) => signWithKey('PS256', privateKey, bytes);
      const jws = await signDetachedJws({ alg: 'PS256', kid: jwk.kid! }, PAYLOAD, signRaw);

      const verdict = await verifyDetachedJws(jws, PAYLOAD, { keys: [jwk] });

      assert.deepEqual(verdict, { ok: true, keyId: jwk.kid, keyStatus: undefined });
    });
  });

  describe('when the payload is embedded instead of detached', () => {
    it('returns a signature failure', async () => {
      const { signer, jwks } = await keyed();
      const [header, , signature] = (await signer.signDetached(PAYLOAD)).split('.');
      const attached = `${header}.${base64url.encode(PAYLOAD)}.${signature}`;

      const verdict = await verifyDetachedJws(attached, PAYLOAD, jwks);

      assert.equal(verdict.ok, false);
      assert.match(!verdict.ok ? verdict.message : '', /detached payload/);
    });
  });

  describe('when the header carries "b64" or "crit"', () => {
    for (const extra of [{ b64: false, crit: ['b64'] }, { crit: ['exp'], exp: 1 }]) {
      it(`returns a signature failure for ${JSON.stringify(extra)}`, async () => {
        const { signer, jwks } = await keyed();
        const jws = await signWithHeader(signer, { alg: 'EdDSA', kid: signer.keyId, ...extra });

        const verdict = await verifyDetachedJws(jws, PAYLOAD, jwks);

        assert.deepEqual(verdict.ok ? {} : { check: verdict.check }, { check: 'signature' });
      });
    }
  });

  describe('when the header has no kid', () => {
    it('returns a signature failure', async () => {
      const { signer, jwks } = await keyed();
      const jws = await signWithHeader(signer, { alg: 'EdDSA' });

      const verdict = await verifyDetachedJws(jws, PAYLOAD, jwks);

      assert.match(!verdict.ok ? verdict.message : '', /no "kid"/);
    });
  });

  describe('when the key set lists the kid twice', () => {
    it('returns a key failure', async () => {
      const { signer, jwks } = await keyed();
      const doubled = { keys: [...jwks.keys, ...jwks.keys] };

      const verdict = await verifyDetachedJws(await signer.signDetached(PAYLOAD), PAYLOAD, doubled);

      assert.deepEqual(verdict.ok ? {} : { check: verdict.check }, { check: 'key' });
    });
  });

  describe('when the key set entry declares another algorithm', () => {
    it('returns a key failure', async () => {
      const { signer, jwks } = await keyed();
      const relabelled = { keys: [{ ...jwks.keys[0], alg: 'ES256' as const }] };

      const jws = await signer.signDetached(PAYLOAD);

      const verdict = await verifyDetachedJws(jws, PAYLOAD, relabelled);

      assert.match(!verdict.ok ? verdict.message : '', /is for ES256, but the JWS says EdDSA/);
    });
  });

  describe('when the key set entry carries a private member', () => {
    it('returns a key failure that does not repeat the private value', async () => {
      const { signer, jwks } = await keyed();
      const leaked = { keys: [{ ...jwks.keys[0], d: 'c2VjcmV0LXNjYWxhcg' }] };

      const verdict = await verifyDetachedJws(await signer.signDetached(PAYLOAD), PAYLOAD, leaked);

      assert.equal(verdict.ok, false);
      const message = !verdict.ok ? verdict.message : '';
      assert.match(message, /private key material/);
      assert.doesNotMatch(message, /c2VjcmV0/);
    });
  });
});
