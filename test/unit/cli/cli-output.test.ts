import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../../platform/package-root.js';
import { runCli } from '../../support/cli.js';
import { sendJson, startStubApi, type StubApi } from '../../support/stub-api.js';

// The real CLI against a stub API on 127.0.0.1: what a user sees when a reader closes the
// pipe early, when an option is missing, and when the API answers an error without a body.

const NO_BUNDLE = { error_class: 'not_found', message: 'run run_1 has no bundle (state failed)' };

describe('stella output', { timeout: 60_000 }, () => {
  let stub: StubApi;
  let outDir: string;

  before(async () => {
    outDir = await mkdtemp(path.join(os.tmpdir(), 'stella-cli-output-'));
    stub = await startStubApi({
      // Large enough that the CLI is still writing when the reader goes away.
      'GET /export/runs/run_big/manifest': (_request, response) =>
        sendJson(response, 200, { files: Array.from({ length: 200_000 }, (_, i) => `file-${i}`) }),
      'HEAD /export/runs/run_1/download': (_request, response) => {
        response.writeHead(404);
        response.end();
      },
      'GET /export/runs/run_1/download': (_request, response) => sendJson(response, 404, NO_BUNDLE),
    });
  });

  after(async () => {
    await stub?.close();
    await rm(outDir, { recursive: true, force: true });
  });

  const env = () => ({ ...process.env, STELLA_API_URL: stub.url, STELLA_TOKEN: 'stub' });

  describe('export run get --manifest', () => {
    describe('when the reader closes stdout after 10 bytes', () => {
      it('returns exit 0 and nothing on stderr', async () => {
        const args = ['export', 'run', 'get', 'run_big', '--manifest'];
        const result = await runUntilReaderStops(args, env());

        assert.equal(result.stderr, '');
        assert.equal(result.code, 0);
      });
    });
  });

  describe('export run download', () => {
    describe('when the API has no bundle for the run', () => {
      it('returns exit 4 and the API error class and message', async () => {
        const out = path.join(outDir, 'b.tar.zst');
        const result = await runCli(['export', 'run', 'download', 'run_1', '--out', out], env());

        assert.equal(result.code, 4);
        assert.equal(result.stderr, `stella: not_found: ${NO_BUNDLE.message}\n`);
      });
    });
  });

  describe('export run create', () => {
    describe('when --profile is missing', () => {
      it('returns exit 2 and the documented error line', async () => {
        const result = await runCli(['export', 'run', 'create'], env());

        assert.equal(result.code, 2);
        assert.equal(
          result.stderr,
          "stella: bad_request: required option '--profile <id>' not specified\n",
        );
      });
    });
  });

  describe('an unknown option', () => {
    describe('when given without --json', () => {
      it('returns exit 2 and the documented error line', async () => {
        const result = await runCli(['--bogus'], env());

        assert.equal(result.code, 2);
        assert.equal(result.stderr, "stella: bad_request: unknown option '--bogus'\n");
      });
    });
  });
});

// Spawns the CLI and reads only its first chunk of stdout, then closes the pipe, as
// `stella … | head -c 10` does.
function runUntilReaderStops(args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stderr: string }>((resolve, reject) => {
    const bin = path.join(packageRoot(), 'bin', 'stella.js');
    const stdio: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
    const child = spawn(process.execPath, [bin, ...args], { env, stdio });
    let stderr = '';
    child.stdout.once('data', () => child.stdout.destroy());
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}
