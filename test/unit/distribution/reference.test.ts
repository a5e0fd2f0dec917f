import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StellaError } from '../../../domain/errors.js';
import {
  formatOciReference,
  parseOciReference,
  registryBaseUrl,
} from '../../../distribution/oci/reference.js';

const isBadRequest = (err: unknown) => err instanceof StellaError && err.code === 'bad_request';

describe('OCI reference', () => {
  describe('parseOciReference', () => {
    describe('when given host:port/repository:tag', () => {
      it('returns the registry, the repository path and the tag', () => {
        assert.deepEqual(parseOciReference('127.0.0.1:5000/stella/trivy-db:2'), {
          registry: '127.0.0.1:5000',
          repository: 'stella/trivy-db',
          tag: '2',
          digest: undefined,
        });
      });
    });

    describe('when the tag is left out', () => {
      it('returns no tag, so the artifact default applies', () => {
        assert.equal(parseOciReference('registry.example/stella/db').tag, undefined);
      });
    });

    describe('when a digest follows', () => {
      it('returns the digest and formats back to the same text', () => {
        const text = `reg.example:443/a/b:t@sha256:${'a'.repeat(64)}`;

        assert.equal(formatOciReference(parseOciReference(text)), text);
      });
    });

    for (const text of [
      'stella/db:1',
      'REG/Upper/Case',
      'reg.example/a//b',
      'reg.example/a:bad tag',
      'reg/a@sha256:xyz',
    ]) {
      describe(`when given ${JSON.stringify(text)}`, () => {
        it('throws bad_request', () => {
          assert.throws(() => parseOciReference(text), isBadRequest);
        });
      });
    }
  });

  describe('registryBaseUrl', () => {
    describe('when the registry is on loopback', () => {
      it('returns plain http', () => {
        assert.equal(registryBaseUrl('127.0.0.1:5000'), 'http://127.0.0.1:5000');
        assert.equal(registryBaseUrl('localhost:5000'), 'http://localhost:5000');
      });
    });

    describe('when the registry is elsewhere', () => {
      it('returns https unless the host is listed as plain HTTP', () => {
        assert.equal(registryBaseUrl('registry.example'), 'https://registry.example');
        assert.equal(
          registryBaseUrl('mirror.lan:5000', ['mirror.lan:5000']),
          'http://mirror.lan:5000',
        );
      });
    });
  });
});
