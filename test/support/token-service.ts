import { execFile } from 'node:child_process';
import { randomUUID, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { importPKCS8, SignJWT } from 'jose';

const run = promisify(execFile);

// A registry token service for tests, speaking the Docker registry token protocol that the
// real registry (CNCF distribution, `auth: token`) trusts: it checks basic credentials and
// answers a JWT signed with a key whose self-signed certificate is the registry's
// `rootcertbundle`. No token service is available from the package registries here
// (github.com/cesanta/docker_auth is refused by the Go module proxy), so the registry is the
// real component and this service stands in for an identity provider.

export const TOKEN_SERVICE_NAME = 'stella-test-registry';
export const TOKEN_ISSUER = 'stella-test-token-service';

export interface IssuedToken {
  subject: string;
  scopes: string[];
}

export interface TokenService {
  realm: string;
  certFile: string;
  issued: IssuedToken[]; // every token handed out, in order
  refused: number; // requests with wrong or missing credentials
  tokenFor(scope: string): Promise<string>; // a token as the service would issue it
  stop(): Promise<void>;
}

interface Credentials {
  username: string;
  password: string;
}

export async function startTokenService(dir: string, credentials: Credentials): Promise<TokenService> {
  const keyFile = path.join(dir, 'token-key.pem');
  const certFile = path.join(dir, 'token-cert.pem');
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=stella-test-token-service',
  ]);
  const signing = await signerFrom(keyFile, certFile);
  const state = { issued: [] as IssuedToken[], refused: 0 };
  const server = createServer((req, res) => {
    answer(req, res, credentials, signing, state).catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    realm: `http://127.0.0.1:${port}/token`,
    certFile,
    get issued() {
      return state.issued;
    },
    get refused() {
      return state.refused;
    },
    tokenFor: (scope) => signing(credentials.username, [scope]),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

type TokenSigner = (subject: string, scopes: string[]) => Promise<string>;

async function signerFrom(keyFile: string, certFile: string): Promise<TokenSigner> {
  const key = await importPKCS8(await readFile(keyFile, 'utf8'), 'ES256');
  // x5c: the registry checks the chain against its rootcertbundle and takes the key from it.
  const certificate = new X509Certificate(await readFile(certFile)).raw.toString('base64');

  return (subject, scopes) =>
    new SignJWT({ access: scopes.map(accessOf) })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', x5c: [certificate] })
      .setIssuer(TOKEN_ISSUER)
      .setSubject(subject)
      .setAudience(TOKEN_SERVICE_NAME)
      .setIssuedAt()
      .setNotBefore('-10s')
      .setExpirationTime('5m')
      .setJti(randomUUID())
      .sign(key);
}

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  credentials: Credentials,
  sign: TokenSigner,
  state: { issued: IssuedToken[]; refused: number },
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (url.pathname !== '/token') {
    res.writeHead(404).end();
    return;
  }
  if (!hasCredentials(req, credentials)) {
    state.refused += 1;
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
    return;
  }

  const scopes = url.searchParams.getAll('scope');
  const token = await sign(credentials.username, scopes);
  state.issued.push({ subject: credentials.username, scopes });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
}

function hasCredentials(req: IncomingMessage, credentials: Credentials): boolean {
  const header = req.headers.authorization ?? '';
  if (!header.startsWith('Basic ')) {
    return false;
  }
  const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');

  return decoded === `${credentials.username}:${credentials.password}`;
}

// "repository:stella/db:pull,push" → {type, name, actions}
function accessOf(scope: string): { type: string; name: string; actions: string[] } {
  const [type, ...rest] = scope.split(':');
  const actions = rest.pop() ?? '';

  return { type, name: rest.join(':'), actions: actions.split(',').filter(Boolean) };
}
