import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONSOLE_CSP, loadConsoleAssets } from '../../api/routes/console.js';
import { permissionFor, ROUTE_PERMISSIONS } from '../../api/route-permissions.js';
import { removeQuietly } from '../../bundle/files.js';
import { isStellaError } from '../../domain/errors.js';
import { startSecurityApp, type SecurityApp } from '../security/security-app.js';

// Every module the shell loads, following the static imports from main.js.
async function reachableModules(app: SecurityApp): Promise<Map<string, string>> {
  const modules = new Map<string, string>();
  const pending = ['/console/assets/main.js'];
  while (pending.length) {
    const url = pending.pop()!;
    if (modules.has(url)) continue;
    const answer = await app.call('GET', url);
    assert.equal(answer.status, 200, url);
    modules.set(url, answer.text);
    for (const [, name] of answer.text.matchAll(/from\s+["']\.\/([a-z0-9-]+\.js)["']/g)) {
      pending.push(`/console/assets/${name}`);
    }
  }

  return modules;
}

describe('web console', { timeout: 120_000 }, () => {
  let app: SecurityApp;

  before(async () => {
    app = await startSecurityApp();
  });

  after(async () => {
    await app?.stop();
  });

  describe('GET /console/', () => {
    describe('when called without a token', () => {
      it('returns the shell as UTF-8 HTML under the strict policy', async () => {
        const answer = await app.call('GET', '/console/');

        assert.equal(answer.status, 200);
        assert.equal(answer.headers.get('content-type'), 'text/html; charset=utf-8');
        assert.equal(answer.headers.get('content-security-policy'), CONSOLE_CSP);
        assert.equal(answer.headers.get('x-content-type-options'), 'nosniff');
        assert.equal(answer.headers.get('referrer-policy'), 'no-referrer');
        assert.match(answer.text, /<script type="module" src="\/console\/assets\/main\.js">/);
      });

      it('returns the same shell at /console without the slash and for HEAD', async () => {
        const bare = await app.call('GET', '/console');
        const head = await fetch(`${app.url}/console/`, { method: 'HEAD' });

        assert.equal(bare.status, 200);
        assert.equal(bare.headers.get('content-security-policy'), CONSOLE_CSP);
        assert.equal(head.status, 200);
        assert.equal(head.headers.get('content-type'), 'text/html; charset=utf-8');
      });
    });

    describe('when the shell is read', () => {
      it('returns markup with no inline script, handler or style', async () => {
        const { text } = await app.call('GET', '/console/');
        const scripts = [...text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];

        assert.ok(scripts.length > 0);
        for (const [, attributes, body] of scripts) {
          assert.match(attributes, /src="\/console\//);
          assert.equal(body.trim(), '');
        }
        assert.doesNotMatch(text, /\son[a-z]+\s*=/i);
        assert.doesNotMatch(text, /\sstyle\s*=|<style/i);
      });
    });
  });

  describe('the policy', () => {
    it('returns no inline script, no eval and only this origin to connect to', () => {
      const directives = new Map(
        CONSOLE_CSP.split(';').map((d) => {
          const [name, ...values] = d.trim().split(/\s+/);
          return [name, values] as const;
        }),
      );

      assert.deepEqual(directives.get('default-src'), ["'none'"]);
      assert.deepEqual(directives.get('script-src'), ["'self'"]);
      assert.deepEqual(directives.get('connect-src'), ["'self'"]);
      assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
      assert.deepEqual(directives.get('require-trusted-types-for'), ["'script'"]);
      assert.doesNotMatch(CONSOLE_CSP, /unsafe-|data:|blob:|\*/);
    });
  });

  describe('GET /console/console.css', () => {
    it('returns the stylesheet as text/css under the policy', async () => {
      const answer = await app.call('GET', '/console/console.css');

      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('content-type'), 'text/css; charset=utf-8');
      assert.equal(answer.headers.get('content-security-policy'), CONSOLE_CSP);
    });
  });

  describe('GET /console/assets/:module', () => {
    describe('when every module the shell imports is fetched', () => {
      it('returns compiled JavaScript under the policy for each', async () => {
        const modules = await reachableModules(app);

        assert.ok(modules.size >= 8, `only ${[...modules.keys()].join(', ')}`);
        for (const url of modules.keys()) {
          const answer = await app.call('GET', url);
          assert.equal(answer.headers.get('content-type'), 'text/javascript; charset=utf-8', url);
          assert.equal(answer.headers.get('content-security-policy'), CONSOLE_CSP, url);
          assert.doesNotMatch(answer.text, /:\s*(string|number|boolean)\s*[,)=;]/, url);
        }
      });

      it('returns code with no HTML string sink, no eval and no lasting token store', async () => {
        const modules = await reachableModules(app);
        const forbidden = new RegExp([
          'innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document\\.write', '\\beval\\(',
          'new Function', 'localStorage', 'document\\.cookie',
        ].join('|'));

        for (const [url, code] of modules) {
          assert.doesNotMatch(code, forbidden, url);
        }
      });
    });

    describe('when a file outside the shipped console is asked for', () => {
      it('returns 404 not_found, still under the policy', async () => {
        const probes = [
          '/console/assets/nope.js',
          '/console/assets/main.ts',
          '/console/assets/..%2f..%2fpackage.json',
          '/console/src/main.ts',
          '/console/tsconfig.json',
          '/console/..%2fpackage.json',
        ];
        for (const probe of probes) {
          const answer = await app.call('GET', probe);

          assert.equal(answer.status, 404, probe);
          assert.equal(answer.body.error_class, 'not_found', probe);
          assert.equal(answer.headers.get('content-security-policy'), CONSOLE_CSP, probe);
        }
      });
    });
  });

  describe('the route table', () => {
    it('returns public GET access to the console files and nothing else', () => {
      const entries = ROUTE_PERMISSIONS.filter((p) => /^\/console/i.test(p.pattern));

      assert.deepEqual(entries, [{ method: 'GET', pattern: '/console/*', access: 'public' }]);
      for (const target of ['/console', '/console/', '/console/assets/main.js']) {
        assert.equal(permissionFor('GET', target)?.permission.access, 'public', target);
        assert.equal(permissionFor('HEAD', target)?.permission.access, 'public', target);
        assert.equal(permissionFor('POST', target), undefined, target);
      }
    });
  });

  describe('POST /console/', () => {
    describe('when called without a token', () => {
      it('returns 401 unauthenticated: only reading the shell is public', async () => {
        const answer = await app.call('POST', '/console/', { body: '{}' });

        assert.equal(answer.status, 401);
        assert.equal(answer.body.error_class, 'unauthenticated');
      });
    });
  });
});

describe('loadConsoleAssets', () => {
  describe('when a console source does not compile', () => {
    it('throws internal and names the file', async () => {
      const root = await mkdtemp(path.join(os.tmpdir(), 'stella-console-'));
      try {
        await mkdir(path.join(root, 'src'));
        await writeFile(path.join(root, 'index.html'), '<!doctype html>');
        await writeFile(path.join(root, 'console.css'), '');
        await writeFile(path.join(root, 'src', 'broken.ts'), 'export const = ;');

        await assert.rejects(loadConsoleAssets(root), (err: unknown) => {
          assert.ok(isStellaError(err));
          assert.equal(err.code, 'internal');
          assert.match(err.message, /console\/src\/broken\.ts/);
          return true;
        });
      } finally {
        await removeQuietly(root);
      }
    });
  });
});
