import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StubRoute = (request: IncomingMessage, response: ServerResponse) => void;

export interface StubApi {
  url: string;
  requests: string[]; // "METHOD /path" in the order they came
  close(): Promise<void>;
}

// A stand-in API on 127.0.0.1 for CLI tests that need an exact answer (a failed run, a
// bodiless 404) without the whole stack. Routes are keyed "METHOD /path"; others get 404.
export async function startStubApi(routes: Record<string, StubRoute>): Promise<StubApi> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    const key = `${request.method} ${new URL(request.url ?? '/', 'http://stub').pathname}`;
    requests.push(key);
    const route = routes[key];
    if (route) {
      route(request, response);

      return;
    }

    sendJson(response, 404, { error_class: 'not_found', message: `stub has no ${key}` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
