import os from 'node:os';
import { localKeyDir } from '../api/auth/auth-config.js';
import { mintLocalToken, readLocalIssuerKey } from '../api/auth/local-issuer.js';
import type { Role } from '../api/auth/roles.js';
import { permissionFor } from '../api/route-permissions.js';
import { StellaError, isErrorClass, type ErrorClass } from '../domain/errors.js';
import { loadConfig } from '../platform/config.js';

export interface ApiClientOptions {
  baseUrl: string;
  tenant: string; // the tenant of tokens minted locally; a given token names its own
  token?: string; // default: $STELLA_TOKEN
  dataDir?: string; // where a local issuer key may be found; default: $STELLA_DATA_DIR
}

const MINTED_TOKEN_SECONDS = 300;

// HTTP → domain for the CLI: an error answer becomes the StellaError it was on the server,
// so the exit code follows the same error class.
export class ApiClient {
  private readonly minted = new Map<Role, { token: string; until: number }>();

  constructor(private readonly options: ApiClientOptions) {}

  async json<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const response = await this.request(method, path, {
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
    });
    if (response.status === 204) {
      return undefined as T;
    }

    return (await response.json()) as T;
  }

  async request(
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const response = await this.send(method, path, init);
    if (response.ok || response.status === 206) {
      return response;
    }

    // A HEAD answer has no body: ask again with GET to show the API's own error.
    const explained = method === 'HEAD' ? await this.send('GET', path, init) : response;
    if (explained !== response && explained.ok) {
      await explained.body?.cancel();

      throw await errorFrom(response);
    }

    throw await errorFrom(explained);
  }

  private async send(
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string> },
  ): Promise<Response> {
    const url = new URL(path, this.options.baseUrl);
    const authorization = await this.authorization(method, url.pathname);
    try {
      const headers = { ...authorization, ...init.headers };

      return await fetch(url, { method, body: init.body, headers });
    } catch (err) {
      throw new StellaError('unavailable', `cannot reach the API at ${this.options.baseUrl}`, {
        cause: err,
      });
    }
  }

  // A given token ($STELLA_TOKEN) is sent as is. Without one, on the embedded stack, the
  // CLI mints a five-minute token from the local issuer key in the data folder, for its
  // tenant and with only the role the route table asks for: reading that folder already
  // gives full access to the store, so this grants nothing new (docs/security/).
  private async authorization(method: string, pathname: string): Promise<Record<string, string>> {
    const given = this.options.token ?? process.env.STELLA_TOKEN;
    if (given) {
      return { authorization: `Bearer ${given}` };
    }
    const access = permissionFor(method, pathname)?.permission.access ?? 'Export.Viewer';
    if (access === 'public') {
      return {};
    }
    const token = await this.mintedToken(access);

    return token ? { authorization: `Bearer ${token}` } : {};
  }

  private async mintedToken(role: Role): Promise<string | undefined> {
    const cached = this.minted.get(role);
    if (cached && cached.until > Date.now()) {
      return cached.token;
    }
    const key = readLocalIssuerKey(localKeyDir(this.options.dataDir ?? loadConfig().dataDir));
    if (!key) {
      return undefined;
    }
    const token = await mintLocalToken(key, {
      tenant: this.options.tenant,
      roles: [role],
      subject: localSubject(),
      ttlSeconds: MINTED_TOKEN_SECONDS,
    });
    this.minted.set(role, { token, until: Date.now() + (MINTED_TOKEN_SECONDS - 60) * 1000 });

    return token;
  }
}

function localSubject(): string {
  try {
    return `local-cli:${os.userInfo().username}`;
  } catch {
    return 'local-cli';
  }
}

const FALLBACK_CLASS_BY_STATUS: Record<number, ErrorClass> = {
  401: 'unauthenticated',
  403: 'denied',
  404: 'not_found',
  416: 'bad_request',
  429: 'unavailable',
};

async function errorFrom(response: Response): Promise<StellaError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as {
      error_class?: string;
      message?: string;
      details?: Record<string, unknown>;
    };
    if (isErrorClass(body.error_class)) {
      return new StellaError(body.error_class, body.message ?? response.statusText, {
        details: body.details,
      });
    }
  } catch {
    // Not one of our error bodies: fall through to a status-based class.
  }
  const code = FALLBACK_CLASS_BY_STATUS[response.status] ?? 'internal';

  // Not ours (a proxy, a bare 404): say what was asked for.
  const what = text.trim() ? text.slice(0, 200) : `${response.statusText || 'no details'} (${new URL(response.url).pathname})`;

  return new StellaError(code, `HTTP ${response.status}: ${what}`);
}
