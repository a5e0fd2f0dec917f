import { Readable } from 'node:stream';
import { StellaError, type ErrorClass } from '../../domain/errors.js';
import {
  DEFAULT_RETRY,
  isRetryableStatus,
  TransientError,
  withRetry,
  type RetryOptions,
} from '../retry.js';
import { RegistryAuthenticator, type RegistryCredentials } from './registry-auth.js';
import { registryBaseUrl, type OciReference } from './reference.js';

export interface RegistryClientOptions {
  reference: OciReference;
  credentials?: RegistryCredentials;
  // Repositories of the same registry that blobs may be mounted from (pull scope needed).
  mountFrom?: string[];
  plainHttpHosts?: string[];
  retry?: RetryOptions;
  fetch?: typeof fetch;
}

export interface RegistryRequest {
  method: string;
  // A path under /v2/<repository>/ or an absolute upload Location.
  url: string;
  headers?: Record<string, string>;
  // Made anew for every attempt, since a stream can be sent only once.
  body?: () => Buffer | Readable | undefined;
  // Statuses the caller handles itself; anything else becomes an error.
  expect: number[];
}

// A small client for the OCI distribution API of one repository: authentication on the
// first 401, retries with backoff on 5xx and dropped connections, and OCI error bodies
// turned into error classes. Response bodies are always consumed or cancelled.
export class RegistryClient {
  readonly baseUrl: string;
  readonly repository: string;
  private readonly auth: RegistryAuthenticator;
  private readonly fetchImpl: typeof fetch;
  private readonly retry: RetryOptions;

  constructor(options: RegistryClientOptions) {
    this.baseUrl = registryBaseUrl(options.reference.registry, options.plainHttpHosts);
    this.repository = options.reference.repository;
    this.fetchImpl = options.fetch ?? fetch;
    this.retry = options.retry ?? DEFAULT_RETRY;
    const scopes = [
      `repository:${this.repository}:pull,push`,
      ...(options.mountFrom ?? []).map((repo) => `repository:${repo}:pull`),
    ];
    this.auth = new RegistryAuthenticator(options.credentials, scopes, this.fetchImpl);
  }

  repoUrl(suffix: string): string {
    return `${this.baseUrl}/v2/${this.repository}/${suffix}`;
  }

  // Resolves a Location header, which registries may send relative to the base URL.
  resolve(location: string): string {
    return new URL(location, this.baseUrl).toString();
  }

  // GET /v2/ once before any upload, so that credentials are checked (and a token earned)
  // before a large body is streamed into a 401.
  async authenticate(): Promise<void> {
    const response = await this.send({ method: 'GET', url: `${this.baseUrl}/v2/`, expect: [200] });
    await response.body?.cancel();
  }

  async send(request: RegistryRequest): Promise<Response> {
    return withRetry(() => this.sendOnce(request), this.retry);
  }

  private async sendOnce(request: RegistryRequest): Promise<Response> {
    let response = await this.attempt(request);
    if (response.status === 401) {
      const challenge = response.headers.get('www-authenticate');
      await response.body?.cancel();
      await this.auth.answer(challenge);
      response = await this.attempt(request);
      if (response.status === 401) {
        await response.body?.cancel();
        throw new StellaError(
          'denied',
          `registry ${new URL(this.baseUrl).host} refused the credentials`,
        );
      }
    }
    if (request.expect.includes(response.status)) {
      return response;
    }

    throw await registryError(request, response);
  }

  private async attempt(request: RegistryRequest): Promise<Response> {
    const body = request.body?.();
    // Credentials go to the registry itself only, never to a host an upload Location or a
    // resumed session names.
    const sameOrigin = new URL(request.url).origin === new URL(this.baseUrl).origin;
    const authorization = sameOrigin ? this.auth.header() : undefined;
    try {
      return await this.fetchImpl(request.url, {
        method: request.method,
        headers: { ...request.headers, ...(authorization ? { authorization } : {}) },
        // undici moves a web stream about twice as fast as a Node stream (measured on
        // loopback with 1 MiB reads), which shows on multi-GiB layers.
        body: (body instanceof Readable ? Readable.toWeb(body) : body) as RequestInit['body'],
        redirect: 'follow',
        ...(body && !Buffer.isBuffer(body) ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (err) {
      (body as Readable | undefined)?.destroy?.();
      throw new TransientError(
        `${request.method} ${redact(request.url)} failed: ${describe(err)}`,
        { cause: err },
      );
    }
  }
}

interface OciErrorBody {
  errors?: { code?: string; message?: string }[];
}

async function registryError(request: RegistryRequest, response: Response): Promise<Error> {
  const text = await response.text().catch(() => '');
  const status = `HTTP ${response.status}${ociErrors(text)}`;
  const summary = `${request.method} ${redact(request.url)}: ${status}`;
  if (isRetryableStatus(response.status)) {
    return new TransientError(summary);
  }

  return new StellaError(errorClassFor(response.status, text), `registry refused ${summary}`, {
    details: { status: response.status },
  });
}

function errorClassFor(status: number, text: string): ErrorClass {
  if (status === 401 || status === 403) {
    return 'denied';
  }
  if (status === 404) {
    return 'not_found';
  }
  if (/DIGEST_INVALID|SIZE_INVALID/.test(text)) {
    return 'integrity_failed';
  }

  return 'export_failed';
}

function ociErrors(text: string): string {
  try {
    const body = JSON.parse(text) as OciErrorBody;
    const codes = (body.errors ?? []).map((e) => `${e.code ?? '?'}: ${e.message ?? ''}`);

    return codes.length ? ` (${codes.join('; ').slice(0, 300)})` : '';
  } catch {
    return '';
  }
}

// Upload Locations carry opaque state in their query; it adds nothing to an error message.
function redact(url: string): string {
  return url.replace(/\?.*$/, '');
}

function describe(err: unknown): string {
  const cause = (err as Error)?.cause as { code?: string; message?: string } | undefined;

  return cause?.code ?? cause?.message ?? (err as Error)?.message ?? String(err);
}
