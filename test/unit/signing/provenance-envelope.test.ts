import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { PROVENANCE_PATH } from '../../../bundle/manifest.js';
import { preAuthEncoding } from '../../../signing/dsse.js';
import { loadLocalSigner } from '../../../signing/local-key-signer.js';
import {
  PROVENANCE_ENVELOPE_PATH,
  signProvenanceEnvelope,
} from '../../../signing/provenance-envelope.js';
import type { JWKS, Signer } from '../../../signing/signer.js';
import { verifyBundle } from '../../../signing/verify-bundle.js';
import { buildBundle, removeTemporaryDirs, temporaryDir } from './bundle-builder.js';

async function signerFor(algorithm: 'EdDSA' | 'ES256'): Promise<Signer> {
  return loadLocalSigner({ keysDir: await temporaryDir('keys'), algorithm });
}

// A bundle as the sign activity leaves it: export.sig plus the provenance envelope.
async function attestedBundle(signer: Signer): Promise<string> {
  const bundleDir = await buildBundle(signer);
  const provenance = await readFile(join(bundleDir, PROVENANCE_PATH));
  const envelope = await signProvenanceEnvelope(signer, provenance);
  await writeFile(join(bundleDir, PROVENANCE_ENVELOPE_PATH), envelope);

  return bundleDir;
}

async function editEnvelope(bundleDir: string, edit: (envelope: Record<string, any>) => void) {
  const path = join(bundleDir, PROVENANCE_ENVELOPE_PATH);
  const envelope = JSON.parse(await readFile(path, 'utf8'));
  edit(envelope);
  await writeFile(path, JSON.stringify(envelope));
}

async function jwksOf(signer: Signer, status?: 'retired' | 'compromised'): Promise<JWKS> {
  return { keys: [{ ...(await signer.publicJwk()), ...(status ? { status } : {}) }] };
}

describe('provenance envelope', () => {
  after(removeTemporaryDirs);

  describe('signProvenanceEnvelope', () => {
    it('returns an in-toto DSSE envelope whose payload is the exact provenance bytes', async () => {
      const signer = await signerFor('EdDSA');
      const bytes = Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}\n');

      const envelope = JSON.parse((await signProvenanceEnvelope(signer, bytes)).toString());

      assert.equal(envelope.payloadType, 'application/vnd.in-toto+json');
      assert.deepEqual(Buffer.from(envelope.payload, 'base64'), bytes);
      assert.deepEqual(envelope.signatures.map((s: { keyid: string }) => s.keyid), [signer.keyId]);
    });

    it('returns a signature over PAE, not over the payload alone', async () => {
      const signer = await signerFor('EdDSA');
      const bytes = Buffer.from('{}\n');
      const envelope = JSON.parse((await signProvenanceEnvelope(signer, bytes)).toString());

      const overPae = await signer.signRaw(preAuthEncoding(envelope.payloadType, bytes));

      // Ed25519 is deterministic (RFC 8032), so the same input gives the same signature.
      assert.equal(envelope.signatures[0].sig, Buffer.from(overPae).toString('base64'));
    });
  });

  describe('verifyBundle', () => {
    for (const algorithm of ['EdDSA', 'ES256'] as const) {
      describe(`when a ${algorithm} envelope is intact`, () => {
        it('returns ok', async () => {
          const signer = await signerFor(algorithm);
          const bundleDir = await attestedBundle(signer);

          const result = await verifyBundle({ bundleDir, jwks: await jwksOf(signer) });

          assert.deepEqual(result.failures, []);
        });
      });
    }

    describe('when a byte of the envelope signature changes', () => {
      it('returns a signature failure on the envelope', async () => {
        const signer = await signerFor('EdDSA');
        const bundleDir = await attestedBundle(signer);
        await editEnvelope(bundleDir, (envelope) => {
          const sig = Buffer.from(envelope.signatures[0].sig, 'base64');
          sig[0] ^= 1;
          envelope.signatures[0].sig = sig.toString('base64');
        });

        const result = await verifyBundle({ bundleDir, jwks: await jwksOf(signer) });

        assert.deepEqual(result.failures, [
          {
            check: 'signature',
            path: PROVENANCE_ENVELOPE_PATH,
            message: `the signature by ${signer.keyId} does not verify`,
          },
        ]);
      });
    });

    describe('when the envelope signs another statement than provenance.json', () => {
      it('returns a provenance failure', async () => {
        const signer = await signerFor('EdDSA');
        const bundleDir = await attestedBundle(signer);
        const other = await signProvenanceEnvelope(signer, Buffer.from('{"_type":"other"}\n'));
        await writeFile(join(bundleDir, PROVENANCE_ENVELOPE_PATH), other);

        const result = await verifyBundle({ bundleDir, jwks: await jwksOf(signer) });

        assert.deepEqual(result.failures.map((f) => [f.check, f.path]), [
          ['provenance', PROVENANCE_PATH],
        ]);
        assert.match(result.failures[0].message, /is not provenance\.json/);
      });
    });

    describe('when the envelope payloadType is changed', () => {
      it('returns a signature failure naming the type', async () => {
        const signer = await signerFor('EdDSA');
        const bundleDir = await attestedBundle(signer);
        await editEnvelope(bundleDir, (envelope) => (envelope.payloadType = 'text/plain'));

        const result = await verifyBundle({ bundleDir, jwks: await jwksOf(signer) });

        assert.equal(result.failures.length, 1);
        assert.match(result.failures[0].message, /payloadType is "text\/plain"/);
      });
    });

    describe('when the signing key is marked compromised', () => {
      it('returns failures on both signatures saying the key is compromised', async () => {
        const signer = await signerFor('ES256');
        const bundleDir = await attestedBundle(signer);

        const result = await verifyBundle({ bundleDir, jwks: await jwksOf(signer, 'compromised') });

        assert.deepEqual(result.failures.map((f) => f.path), [
          'signatures/export.sig',
          PROVENANCE_ENVELOPE_PATH,
        ]);
        for (const failure of result.failures) assert.match(failure.message, /compromised/);
      });
    });

    describe('when the signing key is retired', () => {
      it('returns ok with a warning', async () => {
        const signer = await signerFor('EdDSA');
        const bundleDir = await attestedBundle(signer);

        const result = await verifyBundle({ bundleDir, jwks: await jwksOf(signer, 'retired') });

        assert.deepEqual([result.ok, result.warnings], [true, [`key ${signer.keyId} is retired`]]);
      });
    });

    describe('when the bundle has no envelope', () => {
      it('returns ok, as for bundles made before envelopes', async () => {
        const signer = await signerFor('EdDSA');
        const bundleDir = await buildBundle(signer);

        const result = await verifyBundle({ bundleDir, jwks: await jwksOf(signer) });

        assert.equal(result.ok, true);
      });
    });
  });
});
