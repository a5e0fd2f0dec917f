import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { StellaError } from '../../../domain/errors.js';
import { parseChallenge } from '../../../distribution/oci/registry-auth.js';
import { RegistryClient } from '../../../distribution/oci/registry-client.js';

const USER = 'ci';
const PASSWORD = 'right';

// A loopback stand-in for a registry with token auth (distribution auth spec): /v2/ asks for
// a Bearer token from /token, which wants basic credentials and echoes the scopes it granted.
function tokenRegistry(): { server: Server; scopes: string[][]; statuses: number[] } {
  const scopes: string[][] = [];
  const statuses: number[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, 'http://127.0.0.1');
    const { port } = server.address() as AddressInfo;
    if (url.pathname === '/token') {
      const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
      scopes.push(url.searchParams.getAll('scope'));
      res.writeHead(req.headers.authorization === expected ? 200 : 401, {
        'content-type': 'application/json',
      });
      res.end(req.headers.authorization === expected ? JSON.stringify({ token: 'tok-123' }) : '{}');

      return;
    }
    const status = req.headers.authorization === 'Bearer tok-123' ? 200 : 401;
    statuses.push(status);
    res.writeHead(status, {
      'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="test-registry"`,
    });
    res.end();
  });

  return { server, scopes, statuses };
}

describe('registry authentication', () => {
  describe('parseChallenge', () => {
    describe('when given a Bearer challenge with quoted, comma-holding values', () => {
      it('returns the scheme and every parameter', () => {
        const challenge = parseChallenge(
          'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push"',
        );

        assert.deepEqual(challenge, {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.example/token',
            service: 'reg',
            scope: 'repository:a/b:pull,push',
          },
        });
      });
    });
  });

  describe('RegistryClient.authenticate', () => {
    const registry = tokenRegistry();
    let host: string;

    before(async () => {
      await new Promise<void>((resolve) => registry.server.listen(0, '127.0.0.1', resolve));
      host = `127.0.0.1:${(registry.server.address() as AddressInfo).port}`;
    });

    after(() => {
      registry.server.close();
    });

    describe('when the registry asks for a bearer token and the credentials are right', () => {
      it('returns after earning a token for push on the repository and pull on mount sources', async () => {
        const client = new RegistryClient({
          reference: { registry: host, repository: 'stella/db' },
          credentials: { username: USER, password: PASSWORD },
          mountFrom: ['stella/other'],
        });

        await client.authenticate();

        assert.deepEqual(registry.scopes.at(-1), [
          'repository:stella/db:pull,push',
          'repository:stella/other:pull',
        ]);
        assert.equal(registry.statuses.at(-1), 200);
      });
    });

    describe('when the token service refuses the credentials', () => {
      it('throws denied', async () => {
        const client = new RegistryClient({
          reference: { registry: host, repository: 'stella/db' },
          credentials: { username: USER, password: 'wrong' },
        });

        await assert.rejects(
          client.authenticate(),
          (err: unknown) => err instanceof StellaError && err.code === 'denied',
        );
      });
    });

    describe('when no credentials are given', () => {
      it('throws denied', async () => {
        const client = new RegistryClient({
          reference: { registry: host, repository: 'stella/db' },
        });

        await assert.rejects(
          client.authenticate(),
          (err: unknown) => err instanceof StellaError && err.code === 'denied',
        );
      });
    });
  });
});
