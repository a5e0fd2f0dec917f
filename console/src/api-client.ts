import { readToken } from './session.js';

// An API refusal as the API states it (docs/api.md: `{error_class, message, details?}`).
export class ApiError extends Error {
  constructor(
    readonly errorClass: string,
    message: string,
    readonly status: number,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface ErrorBody {
  error_class?: unknown;
  message?: unknown;
  details?: unknown;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

// Same-origin calls only (connect-src 'self'), the token in the Authorization header.
export async function apiJson<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const response = await call(method, path, {
    accept: 'application/json',
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
  }, body === undefined ? undefined : JSON.stringify(body));

  return (await response.json()) as T;
}

export async function apiBlob(path: string): Promise<Blob> {
  return (await call('GET', path, {})).blob();
}

async function call(
  method: Method,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Response> {
  const token = readToken();
  const response = await fetch(path, {
    method,
    headers: token ? { ...headers, authorization: `Bearer ${token}` } : headers,
    body,
    credentials: 'omit',
    cache: 'no-store',
  });
  if (!response.ok) throw await apiErrorOf(response);

  return response;
}

async function apiErrorOf(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as ErrorBody;
    if (typeof body.error_class === 'string') {
      const message = String(body.message ?? '');

      return new ApiError(body.error_class, message, response.status, body.details);
    }
  } catch {
    // not JSON: a proxy or a crash answered; fall through with the raw status
  }

  return new ApiError(`http_${response.status}`, text.slice(0, 300), response.status);
}
