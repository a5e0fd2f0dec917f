import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { createApp } from '../../api/app.js';
import { ROLES, type Role } from '../../api/auth/roles.js';
import {
  permissionFor,
  ROUTE_PERMISSIONS,
  type RoutePermission,
} from '../../api/route-permissions.js';
import { createLogger } from '../../platform/logger.js';
import type { Database } from '../../store/database.js';
import { runCli } from '../support/cli.js';
import { startSecurityApp, type SecurityApp } from './security-app.js';

type Caller = Role | 'anonymous';

const CALLERS: Caller[] = ['anonymous', ...ROLES];

// What each caller must get from each route of the table: generated, so that a line added
// to the table is tested as soon as it is written.
function expectedOutcome(permission: RoutePermission, caller: Caller): 'reaches' | 401 | 403 {
  if (permission.access === 'public') return 'reaches';
  if (caller === 'anonymous') return 401;

  return ROLES.indexOf(caller) >= ROLES.indexOf(permission.access) ? 'reaches' : 403;
}

// A concrete request for a pattern: an id that exists nowhere and an empty body, so that an
// allowed call reaches its handler and stops there (400 or 404) without side effects.
function concretePath(pattern: string): string {
  return pattern.replace(/\/\*$/, '').replace(/:[a-z]+/gi, 'no-such-id');
}

describe('role matrix', { timeout: 120_000 }, () => {
  let app: SecurityApp;
  const tokens = new Map<Caller, string | undefined>();

  before(async () => {
    app = await startSecurityApp();
    tokens.set('anonymous', undefined);
    for (const role of ROLES) {
      tokens.set(role, await app.token('matrix', [role]));
    }
  });

  after(async () => {
    await app?.stop();
  });

  describe('every route of the table × every role', () => {
    it('returns 401 anonymous, 403 below the route role, the handler otherwise', async () => {
      const failures: string[] = [];
      let denials = 0;
      const cells = ROUTE_PERMISSIONS.flatMap((permission) =>
        CALLERS.map((caller) => ({ permission, caller })),
      );
      for (const { permission, caller } of cells) {
        const path = concretePath(permission.pattern);
        const body = permission.method === 'GET' ? undefined : '{}';
        const answer = await app.call(permission.method, path, { token: tokens.get(caller), body });
        const expected = expectedOutcome(permission, caller);
        const got = answer.status === 401 || answer.status === 403 ? answer.status : 'reaches';
        if (got !== expected) {
          const said = answer.text.slice(0, 99);
          failures.push(`${permission.method} ${path} as ${caller}: ${answer.status} ${said}`);
        }
        if (expected === 403) {
          denials += 1;
          assert.equal(answer.body.error_class, 'denied');
          assert.equal(answer.body.details?.requiredRole, permission.access);
        }
      }

      assert.deepEqual(failures, []);
      const audited = await app.db.auditEntry.count({
        where: { tenant: 'matrix', action: 'access.denied' },
      });
      assert.equal(audited, denials);
    });
  });

  describe('the audit log', () => {
    it('returns the tenant actions and denials to an Admin, newest first', async () => {
      const admin = tokens.get('Export.Admin');
      const profile = JSON.stringify({ id: 'audited', name: 'Audited', kind: 'json:raw' });
      assert.equal(
        (await app.call('POST', '/export/profiles', { token: admin, body: profile })).status,
        201,
      );

      const created = await eventually(async () => {
        const answer = await app.call('GET', '/export/audit?action=profile.create', {
          token: admin,
        });
        const entries = answer.body.entries as { target: string; outcome: string; actor: string }[];

        return entries.find((entry) => entry.target === 'audited');
      });
      const denials = await app.call('GET', '/export/audit?outcome=denied&limit=1000', {
        token: admin,
      });
      const denied = denials.body.entries as { action: string; at: string }[];

      assert.deepEqual(created && { outcome: created.outcome, actor: created.actor }, {
        outcome: 'succeeded',
        actor: 'matrix-user',
      });
      assert.ok(denied.length > 0 && denied.every((entry) => entry.action === 'access.denied'));
      assert.deepEqual(
        denied.map((e) => e.at),
        denied
          .map((e) => e.at)
          .sort()
          .reverse(),
      );
    });

    it('has a store module that can only append and list', async () => {
      const store = await import('../../store/audit-store.js');

      assert.deepEqual(Object.keys(store).sort(), ['appendAuditEntry', 'listAuditEntries']);
    });
  });

  describe('a route that is not in the table', () => {
    it('answers 403 route_not_listed even to an Admin, and 401 without a token', async () => {
      for (const [method, path] of [
        ['PUT', '/export/runs'],
        ['GET', '/export/secrets'],
        ['DELETE', '/export/runs/x'],
      ]) {
        const answer = await app.call(method, path, { token: tokens.get('Export.Admin') });
        const anonymous = await app.call(method, path);

        assert.equal(answer.status, 403, `${method} ${path}`);
        assert.equal(answer.body.details?.reason, 'route_not_listed');
        assert.equal(anonymous.status, 401, `${method} ${path}`);
      }
    });
  });

  describe('the routes the app registers', () => {
    it('returns a table entry for every one of them', () => {
      // The walk never calls a handler, so the store and Temporal are never touched.
      const walked = createApp({
        db: {} as Database,
        temporal: {} as Client,
        config: app.config,
        logger: createLogger('route-walk', 'silent'),
      });
      const routes = registeredRoutes(walked.router as unknown as { stack: Layer[] });
      const missing = routes.filter(([method, path]) => !permissionFor(method, path));

      assert.ok(
        routes.length >= 14,
        `only ${routes.length} routes found: ${JSON.stringify(routes)}`,
      );
      assert.deepEqual(missing, []);
    });
  });

  describe('a denial through the CLI', () => {
    it('exits 5 and names the missing role', async () => {
      const viewer = tokens.get('Export.Viewer')!;
      const result = await runCli(
        ['export', 'profiles', 'create', '--id', 'p1', '--kind', 'json:raw'],
        {
          ...process.env,
          STELLA_API_URL: app.url,
          STELLA_TOKEN: viewer,
        },
      );

      assert.equal(result.code, 5, result.stderr);
      assert.match(result.stderr, /denied: .*Export\.Admin/);
    });
  });

  describe('the CLI without a token on the embedded stack', () => {
    it('mints a token from the local issuer key and exits 0', async () => {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        STELLA_API_URL: app.url,
        STELLA_DATA_DIR: app.config.dataDir,
        STELLA_TENANT: 'cli',
      };
      delete env.STELLA_TOKEN;
      const result = await runCli(['export', 'profiles', 'list', '--json'], env);

      assert.equal(result.code, 0, result.stderr);
      assert.ok((JSON.parse(result.stdout) as unknown[]).length > 0);
    });
  });

  describe('run creation past the tenant rate limit', () => {
    it('answers 429 with Retry-After for that tenant only', async () => {
      const flood = await app.token('flood', ['Export.Operator']);
      const statuses: number[] = [];
      for (let i = 0; i < 21; i++) {
        statuses.push(
          (await app.call('POST', '/export/runs', { token: flood, body: '{}' })).status,
        );
      }
      const limited = await app.call('POST', '/export/runs', { token: flood, body: '{}' });
      const other = await app.call('POST', '/export/runs', {
        token: await app.token('calm', ['Export.Operator']),
        body: '{}',
      });

      assert.ok(statuses.slice(0, 20).every((status) => status === 400));
      assert.equal(limited.status, 429);
      assert.equal(limited.body.details?.reason, 'rate_limited');
      assert.ok(Number(limited.headers.get('retry-after')) > 0);
      assert.equal(other.status, 400);
    });
  });

  describe('a request body over 1 MB', () => {
    it('answers 400 bad_request to an Admin, and 401 unread without a token', async () => {
      const body = JSON.stringify({ id: 'big', name: 'x'.repeat(1_100_000), kind: 'json:raw' });
      const admin = await app.call('POST', '/export/profiles', {
        token: tokens.get('Export.Admin'),
        body,
      });
      const anonymous = await app.call('POST', '/export/profiles', { body });

      assert.equal(admin.status, 400);
      assert.match(String(admin.body.message), /too large/);
      assert.equal(anonymous.status, 401);
    });
  });
});

type Layer = {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
};

function registeredRoutes(router: { stack: Layer[] }): [string, string][] {
  return router.stack.flatMap((layer): [string, string][] => {
    if (layer.route) {
      return Object.keys(layer.route.methods)
        .filter((method) => method !== '_all')
        .map((method) => [method.toUpperCase(), layer.route!.path.replace(/:([a-z]+)/gi, 'x')]);
    }

    return layer.handle?.stack ? registeredRoutes({ stack: layer.handle.stack }) : [];
  });
}

async function eventually<T>(probe: () => Promise<T | undefined>): Promise<T | undefined> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const found = await probe();
    if (found !== undefined) {
      return found;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return undefined;
}
