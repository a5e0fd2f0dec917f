import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSecretName, secretKindOf } from '../../../redaction/secret-patterns.js';

// Fake credentials in the shapes their issuers document.
const SHAPED: [string, string][] = [
  ['-----BEGIN RSA PRIVATE KEY-----\nMIIB...', 'pem_private_key'],
  ['-----BEGIN OPENSSH PRIVATE KEY-----', 'pem_private_key'],
  ['-----BEGIN PGP PRIVATE KEY BLOCK-----', 'pem_private_key'],
  ['key=AKIAIOSFODNN7FAKE000;', 'aws_access_key_id'],
  ['ASIAFAKE0000000000ZZ', 'aws_access_key_id'],
  ['token ghp_abcdefghijklmnopqrstuvwxyz0123456789 here', 'github_token'],
  [`github_pat_${'A1'.repeat(41)}`, 'github_token'],
  ['glpat-FAKEfake0123456789ab', 'gitlab_token'],
  ['xoxb-123456789012-FAKEfakeFAKE', 'slack_token'],
  ['https://hooks.slack.com/services/T00000000/B00000000/FAKEFAKEFAKEFAKE', 'slack_webhook'],
  ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.FAKEsignatureFAKEsig', 'jwt'],
];

// Values real evidence carries that look a little like credentials.
const ORDINARY = [
  'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  'pkg:npm/%40babel/core@7.22.5',
  'AKIA', // too short
  'ghp_short',
  '-----BEGIN PUBLIC KEY-----',
  '-----BEGIN CERTIFICATE-----',
  'CVE-2023-12345 allows an attacker to read the private key of the server',
  'eyJhbGciOiJIUzI1NiJ9', // a lone base64url header is not a token
];

describe('secret patterns', () => {
  describe('secretKindOf', () => {
    for (const [value, kind] of SHAPED) {
      describe(`when the value has the shape of a ${kind}`, () => {
        it(`returns ${kind}`, () => {
          assert.equal(secretKindOf(value), kind);
        });
      });
    }

    describe('when the value is ordinary evidence text', () => {
      it('returns undefined for each', () => {
        assert.deepEqual(ORDINARY.map(secretKindOf), ORDINARY.map(() => undefined));
      });
    });
  });

  describe('isSecretName', () => {
    describe('when the name is made of credential words', () => {
      it('returns true for snake, camel, kebab and header casing', () => {
        const names = [
          'password',
          'aws_access_key_id',
          'apiToken',
          'private-key',
          'X-Api-Key',
          'clientSecret',
          'DB_PASSWD',
        ];

        assert.deepEqual(names.filter(isSecretName), names);
      });
    });

    describe('when a credential word is only part of a longer word', () => {
      it('returns false', () => {
        const names = ['tokenizer', 'secretariat', 'keyword', 'passwordless', 'key', 'bom-ref'];

        assert.deepEqual(names.filter(isSecretName), []);
      });
    });
  });
});
