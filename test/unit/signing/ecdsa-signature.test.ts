import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, it } from 'node:test';

import { StellaError } from '../../../domain/errors.js';
import { derToP1363, p1363ToDer } from '../../../signing/ecdsa-signature.js';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

describe('ecdsa signature encodings', () => {
  describe('p1363ToDer', () => {
    it('returns DER that node verifies, for many signatures', () => {
      // Many signatures so that high-bit and leading-zero integers both occur.
      for (let i = 0; i < 200; i++) {
        const data = Buffer.from(`message ${i}`);
        const p1363 = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });

        const der = p1363ToDer(p1363);

        assert.ok(verify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, der));
      }
    });
  });

  describe('derToP1363', () => {
    it('returns the 64-byte form that node signed as DER', () => {
      for (let i = 0; i < 200; i++) {
        const data = Buffer.from(`message ${i}`);
        const der = sign('sha256', data, { key: privateKey, dsaEncoding: 'der' });

        const p1363 = derToP1363(der);

        assert.equal(p1363.length, 64);
        assert.ok(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, p1363));
        assert.deepEqual(Buffer.from(p1363ToDer(p1363)), der);
      }
    });

    describe('when the input is not a DER SEQUENCE', () => {
      it('throws malformed_document', () => {
        assert.throws(
          () => derToP1363(Uint8Array.from([0x31, 0x02, 0x02, 0x00])),
          (err: unknown) => err instanceof StellaError && err.code === 'malformed_document',
        );
      });
    });
  });
});
