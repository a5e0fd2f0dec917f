import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CommanderError } from 'commander';
import { cliFailureOf, formatCliError, wantsJson } from '../../../cli/error-output.js';
import { StellaError } from '../../../domain/errors.js';
import { runCli } from '../../support/cli.js';

// The real entry point, spawned as a user would run it. The only server is a stub API on
// 127.0.0.1 that refuses every request, for the denied case.

describe('stella CLI', { timeout: 60_000 }, () => {
  let refusing: Server;
  let refusingUrl: string;

  before(async () => {
    refusing = createServer((_request, response) => {
      response.writeHead(403, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error_class: 'denied', message: 'role viewer may not read profiles' }));
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    refusingUrl = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => refusing?.close(resolve));
  });

  describe('error output with --json', () => {
    const cases = [
      { when: 'an option is unknown', args: ['--bogus'], code: 2, errorClass: 'bad_request', message: /unknown option '--bogus'/ },
      { when: 'a bundle does not exist', args: ['export', 'verify', '/nonexistent/b.tar.zst'], code: 4, errorClass: 'not_found', message: /does not exist/ },
      { when: 'the API cannot be reached', args: ['--api-url', 'http://127.0.0.1:9', 'export', 'profiles', 'get', 'p'], code: 8, errorClass: 'unavailable', message: /cannot reach the API/ },
    ];
    for (const { when, args, code, errorClass, message } of cases) {
      describe(`when ${when}`, () => {
        it(`returns exit ${code} and one JSON object with error_class ${errorClass} on stderr`, async () => {
          const result = await runCli(['--json', ...args]);
          const report = JSON.parse(result.stderr) as Record<string, unknown>;

          assert.equal(result.code, code);
          assert.deepEqual(Object.keys(report).sort(), ['error_class', 'message']);
          assert.equal(report.error_class, errorClass);
          assert.match(String(report.message), message);
          assert.equal(result.stdout, '');
        });
      });
    }

    describe('when the API denies the request', () => {
      it('returns exit 5 and the server error class and message', async () => {
        const result = await runCli(['--json', '--api-url', refusingUrl, 'export', 'profiles', 'get', 'p']);

        assert.equal(result.code, 5);
        assert.deepEqual(JSON.parse(result.stderr), {
          error_class: 'denied',
          message: 'role viewer may not read profiles',
        });
      });
    });
  });

  describe('error output without --json', () => {
    describe('when a bundle does not exist', () => {
      it('returns exit 4 and the plain text line', async () => {
        const result = await runCli(['export', 'verify', '/nonexistent/b.tar.zst']);

        assert.equal(result.code, 4);
        assert.equal(result.stderr, 'stella: not_found: /nonexistent/b.tar.zst does not exist\n');
      });
    });
  });
});

describe('cliFailureOf', () => {
  describe('when a command throws integrity_failed', () => {
    it('returns exit 6 and the JSON report', () => {
      const failure = cliFailureOf(new StellaError('integrity_failed', 'sha256 mismatch'));

      assert.equal(failure.exitCode, 6);
      assert.equal(formatCliError(failure, true), '{"error_class":"integrity_failed","message":"sha256 mismatch"}\n');
    });
  });

  describe('when a command throws something that is not a StellaError', () => {
    it('returns exit 8 and error_class internal without the stack in JSON', () => {
      const failure = cliFailureOf(new TypeError('x is undefined'));

      assert.equal(failure.exitCode, 8);
      assert.equal(formatCliError(failure, true), '{"error_class":"internal","message":"internal error"}\n');
    });
  });

  describe('when commander stops for --help', () => {
    it('returns exit 0 and prints nothing more', () => {
      const failure = cliFailureOf(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'));

      assert.equal(failure.exitCode, 0);
      assert.equal(formatCliError(failure, true), '');
    });
  });
});

describe('wantsJson', () => {
  describe('when --json comes after --', () => {
    it('returns false', () => {
      assert.equal(wantsJson(['policy', 'publish', '--', '--json']), false);
    });
  });
});
