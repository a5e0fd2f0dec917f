import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { after, describe, it } from 'node:test';

import {
  IN_TOTO_PAYLOAD_TYPE,
  preAuthEncoding,
  signDsse,
  signInTotoStatement,
  verifyDsse,
} from '../../../signing/dsse.js';
import {
  loadLocalSigner,
  markKeyCompromised,
  publishedJwks,
} from '../../../signing/local-key-signer.js';
import { removeTemporaryDirs, temporaryDir } from './bundle-builder.js';

const STATEMENT = {
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'vex/normalized.jsonl.zst', digest: { sha256: 'ab'.repeat(32) } }],
  predicateType: 'https://slsa.dev/provenance/v1',
  predicate: {},
};

async function keyed(algorithm: 'EdDSA' | 'ES256' = 'EdDSA') {
  const keysDir = await temporaryDir('keys');
  const signer = await loadLocalSigner({ keysDir, algorithm });

  return { keysDir, signer, jwks: await publishedJwks({ keysDir }) };
}

describe('dsse', () => {
  after(removeTemporaryDirs);

  describe('preAuthEncoding', () => {
    it('returns "DSSEv1", byte lengths and fields separated by single spaces', () => {
      const pae = preAuthEncoding('http://example.com/HelloWorld', Buffer.from('hello world'));

      const expected = 'DSSEv1 29 http://example.com/HelloWorld 11 hello world';
      assert.equal(Buffer.from(pae).toString(), expected);
    });

    it('returns byte lengths, not character lengths, for non-ASCII text', () => {
      const pae = preAuthEncoding('t/é', Buffer.from('ü'));

      assert.equal(Buffer.from(pae).toString(), 'DSSEv1 4 t/é 2 ü');
    });
  });

  describe('signDsse then verifyDsse', () => {
    for (const algorithm of ['EdDSA', 'ES256'] as const) {
      describe(`when the envelope is intact (${algorithm})`, () => {
        it('returns ok with the signer key id and the payload bytes', async () => {
          const { signer, jwks } = await keyed(algorithm);
          const envelope = await signInTotoStatement(signer, STATEMENT);

          const result = await verifyDsse(envelope, jwks);

          assert.deepEqual(result.failures, []);
          assert.deepEqual(result.keyIds, [signer.keyId]);
          assert.deepEqual(JSON.parse(Buffer.from(result.payload!).toString()), STATEMENT);
          assert.equal(envelope.payloadType, IN_TOTO_PAYLOAD_TYPE);
        });
      });
    }

    describe('when the signature is ECDSA', () => {
      it('returns a DER signature that node verifies over the PAE bytes', async () => {
        const { signer } = await keyed('ES256');
        const payload = Buffer.from('{}');
        const envelope = await signDsse(signer, payload);

        const key = createPublicKey({ key: (await signer.publicJwk()) as never, format: 'jwk' });
        const sig = Buffer.from(envelope.signatures[0].sig, 'base64');
        assert.equal(sig[0], 0x30);
        assert.ok(verify('sha256', preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload), key, sig));
      });
    });

    describe('when the payload is changed', () => {
      it('returns not ok with a failure naming the key', async () => {
        const { signer, jwks } = await keyed();
        const envelope = await signInTotoStatement(signer, STATEMENT);
        const altered = JSON.stringify({ ...STATEMENT, subject: [] });
        envelope.payload = Buffer.from(altered).toString('base64');

        const result = await verifyDsse(envelope, jwks);

        assert.equal(result.ok, false);
        assert.equal(result.payload, undefined);
        assert.deepEqual(result.failures, [`the signature by ${signer.keyId} does not verify`]);
      });
    });

    describe('when the payloadType is changed', () => {
      it('returns not ok naming the unexpected type', async () => {
        const { signer, jwks } = await keyed();
        const envelope = await signInTotoStatement(signer, STATEMENT);

        const result = await verifyDsse({ ...envelope, payloadType: 'text/plain' }, jwks);

        assert.equal(result.ok, false);
        assert.match(result.failures[0], /payloadType is "text\/plain"/);
      });
    });

    describe('when the key is marked compromised', () => {
      it('returns not ok', async () => {
        const { keysDir, signer } = await keyed();
        const envelope = await signInTotoStatement(signer, STATEMENT);
        await markKeyCompromised({ keysDir, keyId: signer.keyId });

        const result = await verifyDsse(envelope, await publishedJwks({ keysDir }));

        assert.equal(result.ok, false);
        assert.deepEqual(result.failures, [`key ${signer.keyId} is marked compromised`]);
      });
    });

    describe('when the key is not trusted', () => {
      it('returns not ok', async () => {
        const { signer } = await keyed();
        const stranger = await keyed();
        const envelope = await signInTotoStatement(signer, STATEMENT);

        const result = await verifyDsse(envelope, stranger.jwks);

        assert.deepEqual(result.failures, [`no trusted key with kid ${signer.keyId}`]);
      });
    });

    describe('when the threshold asks for two keys and one signed', () => {
      it('returns not ok', async () => {
        const { signer, jwks } = await keyed();
        const envelope = await signInTotoStatement(signer, STATEMENT);

        assert.equal((await verifyDsse(envelope, jwks, { threshold: 2 })).ok, false);
      });
    });
  });
});
