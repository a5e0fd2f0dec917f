import assert from 'node:assert/strict';
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importJWK, SignJWT, type JWTPayload } from 'jose';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, localKeyDir } from '../../api/auth/auth-config.js';
import {
  localPublicJwks,
  readLocalIssuerKey,
  type LocalIssuerKey,
} from '../../api/auth/local-issuer.js';
import { createTokenVerifier } from '../../api/auth/token-verifier.js';
import { removeQuietly } from '../../bundle/files.js';
import type { StellaError } from '../../domain/errors.js';
import { startSecurityApp, type SecurityApp } from './security-app.js';

const NOW = () => Math.floor(Date.now() / 1000);

describe('bearer token authentication', { timeout: 120_000 }, () => {
  let app: SecurityApp;
  let key: LocalIssuerKey;

  before(async () => {
    app = await startSecurityApp();
    key = readLocalIssuerKey(localKeyDir(app.config.dataDir))!;
  });

  after(async () => {
    await app?.stop();
  });

  const good = (): JWTPayload => ({
    iss: LOCAL_ISSUER,
    aud: LOCAL_AUDIENCE,
    sub: 'mallory',
    tenant: 'acme',
    roles: ['Export.Admin'],
    exp: NOW() + 300,
  });

  async function expectRejected(token: string | undefined, reason: string, authorization?: string) {
    const headers = authorization ? { authorization } : undefined;
    const answer = await app.call('GET', '/export/runs', { token, headers });

    assert.equal(answer.status, 401, answer.text);
    assert.equal(answer.body.error_class, 'unauthenticated');
    assert.equal(answer.body.details?.reason, reason);
    assert.match(answer.headers.get('www-authenticate') ?? '', /^Bearer /);
  }

  describe('when the token is a valid local token', () => {
    it('returns 200 for the tenant it names', async () => {
      const answer = await app.call('GET', '/export/runs', { token: await signed(key, good()) });

      assert.equal(answer.status, 200, answer.text);
    });
  });

  describe('when there is no token', () => {
    it('answers 401 missing_token', async () => {
      await expectRejected(undefined, 'missing_token');
    });
  });

  describe('when the header is not a bearer token', () => {
    it('answers 401 malformed_token', async () => {
      await expectRejected(undefined, 'malformed_token', 'Basic YWRtaW46YWRtaW4=');
      await expectRejected(undefined, 'malformed_token', 'Bearer');
      await expectRejected('not.a-jwt', 'malformed_token');
    });
  });

  describe('when the token says alg none', () => {
    it('answers 401 alg_not_allowed', async () => {
      const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
      const payload = Buffer.from(JSON.stringify(good())).toString('base64url');
      const answer = await app.call('GET', '/export/runs', { token: `${header}.${payload}.` });

      assert.equal(answer.status, 401, answer.text);
      assert.equal(answer.body.details?.reason, 'alg_not_allowed');
    });
  });

  // The HS/RS confusion: an HMAC over the token keyed with the published public key.
  describe('when the token is HS256-signed with the public key as the secret', () => {
    it('answers 401 alg_not_allowed', async () => {
      const publicJwk = JSON.stringify(localPublicJwks(key).keys[0]);
      const token = await new SignJWT(good())
        .setProtectedHeader({ alg: 'HS256', kid: key.kid })
        .sign(new TextEncoder().encode(publicJwk));

      await expectRejected(token, 'alg_not_allowed');
    });
  });

  describe('when the token has expired', () => {
    it('answers 401 expired', async () => {
      await expectRejected(await signed(key, { ...good(), exp: NOW() - 120 }), 'expired');
    });
  });

  describe('when the token is not valid yet', () => {
    it('answers 401 not_yet_valid', async () => {
      await expectRejected(await signed(key, { ...good(), nbf: NOW() + 3600 }), 'not_yet_valid');
    });
  });

  describe('when the token names another issuer', () => {
    it('answers 401 wrong_issuer', async () => {
      await expectRejected(
        await signed(key, { ...good(), iss: 'https://evil.example' }),
        'wrong_issuer',
      );
    });
  });

  describe('when the token is for another audience', () => {
    it('answers 401 wrong_audience', async () => {
      await expectRejected(
        await signed(key, { ...good(), aud: 'another-service' }),
        'wrong_audience',
      );
    });
  });

  describe('when the token key id is not in the JWKS', () => {
    it('answers 401 unknown_kid', async () => {
      await expectRejected(await signed(key, good(), { kid: 'not-a-known-key' }), 'unknown_kid');
    });
  });

  describe('when the token is signed by another key under the trusted key id', () => {
    it('answers 401 bad_signature', async () => {
      const forged = { kid: key.kid, privateJwk: newEcKey() };

      await expectRejected(await signed(forged, good()), 'bad_signature');
    });
  });

  describe('when the token has no expiry or no subject', () => {
    it('answers 401 missing_claim', async () => {
      const { exp: _exp, ...noExpiry } = good();
      const { sub: _sub, ...noSubject } = good();

      await expectRejected(await signed(key, noExpiry), 'missing_claim');
      await expectRejected(await signed(key, noSubject), 'missing_claim');
    });
  });

  describe('when the tenant claim is missing or not a tenant name', () => {
    it('answers 401 invalid_tenant_claim', async () => {
      for (const tenant of [undefined, '', '../globex', 'ACME', 'a'.repeat(64), ['acme']]) {
        await expectRejected(await signed(key, { ...good(), tenant }), 'invalid_tenant_claim');
      }
    });
  });

  describe('when the token holds no known role', () => {
    it('answers 403 denied', async () => {
      const token = await signed(key, { ...good(), roles: ['Export.Root', 'admin'] });
      const answer = await app.call('GET', '/export/runs', { token });

      assert.equal(answer.status, 403, answer.text);
      assert.equal(answer.body.error_class, 'denied');
    });
  });

  describe('when a valid token comes with an X-Stella-Tenant header of another tenant', () => {
    it('returns the token tenant data, ignoring the header', async () => {
      const token = await signed(key, { ...good(), tenant: 'acme' });
      const answer = await app.call('GET', '/export/audit?limit=1000', {
        token,
        headers: { 'x-stella-tenant': 'globex' },
      });

      assert.equal(answer.status, 200, answer.text);
      const entries = answer.body.entries as { tenant: string }[];
      assert.ok(entries.every((entry) => entry.tenant === 'acme'));
    });
  });
});

describe('token verifier in jwks mode', { timeout: 60_000 }, () => {
  const issuer = 'https://idp.test';
  const audience = 'stella';
  const idpKey = { kid: 'idp-1', privateJwk: newEcKey() };
  const jwks = localPublicJwks(idpKey);
  let dir: string;
  let server: Server;
  let jwksUrl: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'stella-jwks-'));
    await writeFile(path.join(dir, 'jwks.json'), JSON.stringify(jwks));
    server = createServer((_req, res) =>
      res.setHeader('content-type', 'application/json').end(JSON.stringify(jwks)),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks.json`;
  });

  after(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await removeQuietly(dir);
  });

  const claims = (): JWTPayload => ({
    iss: issuer,
    aud: audience,
    sub: 'svc',
    tenant: 'acme',
    roles: ['Export.Viewer'],
    exp: NOW() + 60,
  });
  const common = { issuer, audience, tenantClaim: 'tenant', rolesClaim: 'roles' };

  describe('verify', () => {
    describe('when the keys come from a JWKS file', () => {
      it('returns the principal of a token signed by the issuer', async () => {
        const verifier = createTokenVerifier({
          mode: 'jwks',
          jwksFile: path.join(dir, 'jwks.json'),
          ...common,
        });
        const principal = await verifier.verify(await signed(idpKey, claims()));

        assert.deepEqual(principal, {
          subject: 'svc',
          tenant: 'acme',
          roles: ['Export.Viewer'],
          issuer,
        });
      });
    });

    describe('when the keys come from a JWKS URL', () => {
      it('returns the principal, and throws unknown_kid for a key it does not list', async () => {
        const verifier = createTokenVerifier({ mode: 'jwks', jwksUrl, ...common });

        assert.equal((await verifier.verify(await signed(idpKey, claims()))).tenant, 'acme');
        await assert.rejects(
          verifier.verify(await signed(idpKey, claims(), { kid: 'idp-2' })),
          (err: StellaError) =>
            err.code === 'unauthenticated' && err.details?.reason === 'unknown_kid',
        );
      });
    });

    describe('when a token of the local issuer is shown to a jwks-mode verifier', () => {
      it('throws unauthenticated', async () => {
        const verifier = createTokenVerifier({
          mode: 'jwks',
          jwksFile: path.join(dir, 'jwks.json'),
          ...common,
        });
        const local = { kid: 'idp-1', privateJwk: newEcKey() };

        await assert.rejects(
          verifier.verify(await signed(local, { ...claims(), iss: LOCAL_ISSUER })),
          (err: StellaError) => err.code === 'unauthenticated',
        );
      });
    });
  });
});

async function signed(
  key: LocalIssuerKey,
  payload: JWTPayload,
  header: { kid?: string } = {},
): Promise<string> {
  const signingKey = await importJWK({ ...key.privateJwk, alg: 'ES256' }, 'ES256');

  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', kid: header.kid ?? key.kid })
    .sign(signingKey);
}

function newEcKey(): JsonWebKey {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
}
