import { StellaError } from '../../domain/errors.js';
import { isRetryableStatus, TransientError } from '../retry.js';

export interface RegistryCredentials {
  username?: string;
  password?: string;
  // A ready bearer token (e.g. a CI job token); sent as is, without the token exchange.
  token?: string;
}

export interface AuthChallenge {
  scheme: string; // lower-case: basic | bearer
  params: Record<string, string>;
}

// Parses a WWW-Authenticate header such as
// `Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"`
// (RFC 7235 auth-params; quoted strings may hold commas and escaped quotes).
export function parseChallenge(header: string): AuthChallenge | undefined {
  const match = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (!match) {
    return undefined;
  }

  const params: Record<string, string> = {};
  const pattern = /([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/g;
  for (const param of match[2].matchAll(pattern)) {
    params[param[1].toLowerCase()] =
      param[2] !== undefined ? param[2].replace(/\\(.)/g, '$1') : param[3];
  }

  return { scheme: match[1].toLowerCase(), params };
}

// Holds the Authorization header for one registry and earns it from a 401 challenge:
// basic credentials as they are, or the token flow of the distribution auth spec (a GET on
// the realm with service and scopes, answered by {token | access_token}).
export class RegistryAuthenticator {
  private authorization: string | undefined;

  constructor(
    private readonly credentials: RegistryCredentials | undefined,
    private readonly scopes: string[],
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    if (credentials?.token) {
      this.authorization = `Bearer ${credentials.token}`;
    }
  }

  header(): string | undefined {
    return this.authorization;
  }

  // Returns once a new Authorization header is ready; throws `denied` when the challenge
  // cannot be met (no credentials, or credentials the registry already refused).
  async answer(challengeHeader: string | null): Promise<void> {
    const challenge = challengeHeader ? parseChallenge(challengeHeader) : undefined;
    if (challenge?.scheme === 'basic') {
      this.authorization = this.basicHeader(challenge);

      return;
    }
    if (challenge?.scheme === 'bearer' && challenge.params.realm) {
      this.authorization = `Bearer ${await this.fetchToken(challenge)}`;

      return;
    }

    throw new StellaError(
      'denied',
      `registry asked for unsupported authentication: ${challengeHeader ?? 'none'}`,
    );
  }

  private basicHeader(challenge: AuthChallenge): string {
    const { username, password } = this.credentials ?? {};
    const basic =
      username !== undefined && password !== undefined
        ? encodeBasic(username, password)
        : undefined;
    if (!basic) {
      throw new StellaError(
        'denied',
        `registry requires credentials (realm ${challenge.params.realm ?? '?'})`,
      );
    }
    if (this.authorization === basic) {
      throw new StellaError('denied', 'registry refused the credentials');
    }

    return basic;
  }

  private async fetchToken(challenge: AuthChallenge): Promise<string> {
    const url = new URL(challenge.params.realm);
    if (challenge.params.service) {
      url.searchParams.set('service', challenge.params.service);
    }
    for (const scope of new Set([...this.scopes, ...splitScopes(challenge.params.scope)])) {
      url.searchParams.append('scope', scope);
    }

    const response = await this.fetchImpl(url, { headers: this.tokenRequestHeaders() });

    return readToken(response);
  }

  private tokenRequestHeaders(): Record<string, string> {
    const { username, password } = this.credentials ?? {};

    return username !== undefined && password !== undefined
      ? { authorization: encodeBasic(username, password) }
      : {};
  }
}

async function readToken(response: Response): Promise<string> {
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw new StellaError(
      'denied',
      `token service refused the credentials (HTTP ${response.status})`,
    );
  }
  if (isRetryableStatus(response.status)) {
    await response.body?.cancel();
    throw new TransientError(`token service answered HTTP ${response.status}`);
  }
  const body = (await response.json().catch(() => ({}))) as {
    token?: string;
    access_token?: string;
  };
  const token = body.token ?? body.access_token;
  if (!response.ok || !token) {
    throw new StellaError('denied', `token service gave no token (HTTP ${response.status})`);
  }

  return token;
}

function splitScopes(scope: string | undefined): string[] {
  return scope ? scope.split(' ').filter(Boolean) : [];
}

function encodeBasic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}
