import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { RunView } from '../../api/run-view.js';
import { waitForRun } from '../../cli/wait-for-run.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import { EVIDENCE, startExportStack, type ExportStack } from '../support/export-stack.js';

// Debian's chromium (.ci/install-tools.sh); never a browser downloaded by a package.
const CHROMIUM = process.env.STELLA_CHROMIUM ?? '/usr/bin/chromium';
const XSS_NAME = '<img src=x onerror=alert(1)>';
const UI_TIMEOUT = 30_000;

interface ConsoleTab {
  page: Page;
  dialogs: string[];
  pageErrors: string[];
}

async function openTab(browser: Browser, stack: ExportStack): Promise<ConsoleTab> {
  const page = await browser.newPage();
  page.setDefaultTimeout(UI_TIMEOUT);
  const tab: ConsoleTab = { page, dialogs: [], pageErrors: [] };
  page.on('dialog', (dialog) => {
    tab.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('pageerror', (err) => tab.pageErrors.push(String(err)));
  await page.goto(`${stack.api.url}/console/`, { waitUntil: 'load' });

  return tab;
}

async function signIn(tab: ConsoleTab, token: string): Promise<void> {
  await tab.page.waitForSelector('#token');
  await tab.page.type('#token', token, { delay: 0 });
  await tab.page.click('#sign-in button[type=submit]');
  await tab.page.waitForSelector('#runs');
}

// The root tsconfig has no DOM library: code run in the page is passed as a string.
async function showView(page: Page, hash: string): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
}

async function textOf(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (element) => element.textContent ?? '');
}

describe('web console in a browser', {
  timeout: 400_000,
  skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}: apt-get install chromium`,
}, () => {
  let stack: ExportStack;
  let browser: Browser;
  let run: RunView;

  before(async () => {
    stack = await startExportStack();
    await ingestPaths(stack.db, 'default', [path.join(EVIDENCE, 'advisories', 'osv', 'go')]);
    const api = stack.client('default');
    const request = { profileId: 'prof_json_raw' };
    const created = await api.json<RunView>('POST', '/export/runs', request);
    run = await waitForRun(api, created.id, { quiet: true, timeoutMs: 240_000 });
    const probe = { id: 'xss-probe', name: XSS_NAME, kind: 'json:raw' };
    await api.json('POST', '/export/profiles', probe);
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  describe('signed in with a minted Export.Viewer token', () => {
    let tab: ConsoleTab;
    let token: string;

    before(async () => {
      assert.equal(run.state, 'succeeded', `the run ended ${run.state}: ${run.errorMessage}`);
      token = await stack.token('default', ['Export.Viewer']);
      tab = await openTab(browser, stack);
      await signIn(tab, token);
    });

    it('returns the finished run in the runs list with its state', async () => {
      const row = `#runs a[href="#/runs/${run.id}"]`;
      await tab.page.waitForSelector(row);
      const cells = await tab.page.$eval(row, (link) =>
        [...link.closest('tr')!.querySelectorAll('td')].map((td) => td.textContent));

      assert.equal(cells[0], run.id);
      assert.equal(cells[1], 'prof_json_raw');
      assert.equal(cells[2], 'succeeded');
    });

    it('returns navigation without the Operator and Admin views', async () => {
      const links = await tab.page.$$eval('#nav a', (as) => as.map((a) => a.textContent));

      assert.deepEqual(links, ['Runs', 'Profiles', 'Sign out']);
    });

    it('keeps the token out of the URL and in sessionStorage only', async () => {
      const stored = await tab.page.evaluate(`({
        session: Object.values(sessionStorage),
        local: localStorage.length,
        cookie: document.cookie,
      })`);

      assert.ok(!tab.page.url().includes(token.slice(0, 20)));
      assert.deepEqual(stored, { session: [token], local: 0, cookie: '' });
    });

    it('returns the manifest, provenance and signatures of the run', async () => {
      await tab.page.click(`#runs a[href="#/runs/${run.id}"]`);
      await tab.page.waitForSelector('#manifest table');
      const manifest = await textOf(tab.page, '#manifest');
      const provenance = await textOf(tab.page, '#provenance');
      const signatures = await textOf(tab.page, '#signatures');

      assert.match(manifest, /advisories\/normalized\.jsonl\.zst/);
      assert.match(provenance, /https:\/\/slsa\.dev\/provenance\/v1/);
      assert.match(signatures, /signatures\/export\.sig/);
      assert.ok(await tab.page.$('#download'), 'a download button');
      assert.equal(await tab.page.$('#cancel'), null);
    });

    it('returns verified with every check passed in the verification panel', async () => {
      await tab.page.click('#verify');
      await tab.page.waitForSelector('#verdict');
      const verdict = await textOf(tab.page, '#verdict');
      const outcomes = await tab.page.$$eval('#verification td.check-failed', (tds) => tds.length);
      const passed = await tab.page.$$eval('#verification td.check-passed', (tds) => tds.length);

      assert.equal(verdict, 'verified');
      assert.equal(outcomes, 0);
      assert.ok(passed >= 5);
    });

    it('returns a profile named like markup as text, with no element made of it', async () => {
      await showView(tab.page, '#/profiles');
      await tab.page.waitForSelector('#profiles table');
      const cells = await tab.page.$$eval('#profiles td', (tds, name) =>
        tds.filter((td) => td.textContent === name).length, XSS_NAME);
      const images = await tab.page.$$eval('#view img', (imgs) => imgs.length);

      assert.deepEqual({ cells, images }, { cells: 1, images: 0 });
      assert.deepEqual(tab.dialogs, []);
    });

    it('returns the API error_class for a run that does not exist', async () => {
      await showView(tab.page, '#/runs/run_no_such');
      await tab.page.waitForSelector('#run-summary .error-class');

      assert.equal(await textOf(tab.page, '#run-summary .error-class'), 'not_found');
    });

    // eval is not probed here: code sent over the DevTools protocol is exempt from the CSP.
    it('throws in the page when HTML strings are assigned (Trusted Types)', async () => {
      // A string, not a function: tsx would wrap a nested function in a helper the page lacks.
      const outcomes = await tab.page.evaluate(`(() => {
        const attempt = (action) => {
          try { action(); return 'allowed'; } catch (err) { return err.name; }
        };
        return {
          innerHTML: attempt(() => { document.createElement('div').innerHTML = '<b>x</b>'; }),
          adjacentHTML: attempt(() => { document.body.insertAdjacentHTML('beforeend', '<i>'); }),
        };
      })()`);

      assert.deepEqual(outcomes, { innerHTML: 'TypeError', adjacentHTML: 'TypeError' });
    });

    it('returns no script error in the page', () => {
      assert.deepEqual(tab.pageErrors, []);
      assert.deepEqual(tab.dialogs, []);
    });
  });

  describe('signed in with a minted Export.Admin token', () => {
    it('returns the audit log with the verification the Viewer ran', async () => {
      const tab = await openTab(browser, stack);
      await signIn(tab, await stack.token('default', ['Export.Admin']));
      await showView(tab.page, '#/audit');
      await tab.page.waitForSelector('#audit table');
      const rows = await tab.page.$$eval('#audit tbody tr', (trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));

      assert.ok(rows.some((cells) => cells[2] === 'bundle.verify' && cells[3] === run.id),
        JSON.stringify(rows.slice(0, 5)));
      await tab.page.close();
    });

    it('returns the published signing keys of the tenant with their status', async () => {
      const tab = await openTab(browser, stack);
      await signIn(tab, await stack.token('default', ['Export.Admin']));
      await showView(tab.page, '#/keys');
      await tab.page.waitForFunction(`!document.querySelector('#keys').textContent
        .startsWith('Loading')`);
      assert.ok(await tab.page.$('#keys table'), await textOf(tab.page, '#keys'));
      const shownKeys = await tab.page.$$eval('#keys tbody tr', (trs) => trs.map((tr) => {
        const cells = [...tr.querySelectorAll('td')].map((td) => td.textContent);
        return [cells[0], cells[4]];
      }));
      const published = await fetch(`${stack.api.url}/export/jwks?tenant=default`);
      const { keys } = (await published.json()) as { keys: { kid: string; status?: string }[] };

      assert.ok(keys.length > 0);
      assert.deepEqual(shownKeys, keys.map((key) => [key.kid, key.status ?? '']));
      await tab.page.close();
    });
  });

  describe('signed in with a minted Export.Operator token', () => {
    describe('when a run is created with filters', () => {
      it('returns the new run detail page for it', async () => {
        const tab = await openTab(browser, stack);
        await signIn(tab, await stack.token('default', ['Export.Operator']));
        await showView(tab.page, '#/new-run');
        await tab.page.waitForSelector('#profile option[value="prof_json_raw"]');
        await tab.page.select('#profile', 'prof_json_raw');
        await tab.page.type('#filters', '{"ecosystems":["Go"]}');
        await tab.page.click('#create-run button[type=submit]');
        await tab.page.waitForFunction(`location.hash.startsWith('#/runs/run_')`);
        await tab.page.waitForSelector('#run-summary table');
        const summary = await textOf(tab.page, '#run-summary');

        assert.match(summary, /prof_json_raw \(json:raw\)/);
        assert.match(summary, /"ecosystems":\["Go"\]/);
        await tab.page.close();
      });
    });

    describe('when filters are refused by the API', () => {
      it('returns the error_class the API answered', async () => {
        const tab = await openTab(browser, stack);
        await signIn(tab, await stack.token('default', ['Export.Operator']));
        await showView(tab.page, '#/new-run');
        await tab.page.waitForSelector('#profile option[value="prof_json_raw"]');
        await tab.page.type('#filters', '{"ecosystems":[]}');
        await tab.page.click('#create-run button[type=submit]');
        await tab.page.waitForSelector('#create-outcome .error-class');

        assert.equal(await textOf(tab.page, '#create-outcome .error-class'), 'bad_request');
        await tab.page.close();
      });
    });
  });
});
