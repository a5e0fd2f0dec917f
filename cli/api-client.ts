import { StellaError, isErrorClass } from '../domain/errors.js';

export interface ApiClientOptions {
  baseUrl: string;
  tenant: string;
}

// HTTP → domain for the CLI: an error answer becomes the StellaError it was on the server,
// so the exit code follows the same error class.
export class ApiClient {
  constructor(private readonly options: ApiClientOptions) {}

  async json<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const response = await this.request(method, path, {
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    });
    if (response.status === 204) {
      return undefined as T;
    }

    return (await response.json()) as T;
  }

  async request(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    const url = new URL(path, this.options.baseUrl);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        body: init.body,
        headers: { 'x-stella-tenant': this.options.tenant, ...init.headers },
      });
    } catch (err) {
      throw new StellaError('unavailable', `cannot reach the API at ${this.options.baseUrl}`, { cause: err });
    }
    if (!response.ok && response.status !== 206) {
      throw await errorFrom(response);
    }

    return response;
  }
}

async function errorFrom(response: Response): Promise<StellaError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error_class?: string; message?: string; details?: Record<string, unknown> };
    if (isErrorClass(body.error_class)) {
      return new StellaError(body.error_class, body.message ?? response.statusText, { details: body.details });
    }
  } catch {
    // Not one of our error bodies: fall through to a status-based class.
  }
  const code = response.status === 404 ? 'not_found' : response.status === 403 ? 'denied' : response.status === 416 ? 'bad_request' : 'internal';

  return new StellaError(code, `HTTP ${response.status}: ${text.slice(0, 200)}`);
}
