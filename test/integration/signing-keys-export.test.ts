// Signing wired through the product: provenance envelopes checked by go-securesystemslib,
// key rotation and compromise through the API and CLI, server-side verification with its
// metric, age-encrypted mirror bundles, and a scan for private key material.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey } from 'node:crypto';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { bundlePaths } from '../../activities/bundle-paths.js';
import type { RunView } from '../../api/run-view.js';
import { waitForRun } from '../../cli/wait-for-run.js';
import { ingestPaths } from '../../ingest/ingest-paths.js';
import { packageRoot } from '../../platform/package-root.js';
import type { JWKS } from '../../signing/signer.js';
import { createProfile } from '../../store/export-store.js';
import { runCli } from '../support/cli.js';
import {
  EVIDENCE,
  startExportStack,
  stellaEnv,
  type ExportStack,
} from '../support/export-stack.js';

const run = promisify(execFile);
const PEER_SOURCE = path.join(packageRoot(), 'bench/peers/dsse-verify');
const PEER = path.join(packageRoot(), '.tools/bin/dsse-verify');
const ageMissing = spawnSync('age', ['--version']).error !== undefined;

interface PeerReport {
  keyids: string[];
  payloadType: string;
  payloadSha256: string;
}

interface VerifyAnswer {
  ok: boolean;
  keyId?: string;
  failures: { check: string; path?: string; message: string }[];
}

describe('signing through the export stack', { timeout: 300_000 }, () => {
  let stack: ExportStack;
  let env: NodeJS.ProcessEnv;
  let workerLog = '';
  let first: RunView;
  let firstKey: string;

  before(async () => {
    await buildPeer();
    stack = await startExportStack();
    stack.workers[0].stderr?.on('data', (chunk: Buffer) => (workerLog += chunk.toString()));
    env = { ...stellaEnv(stack.config), STELLA_API_URL: stack.api.url };
    await ingestPaths(stack.db, 'default', [path.join(EVIDENCE, 'advisories/osv/go')]);
    first = await exportAndWait(stack, 'prof_json_raw');
    firstKey = await signingKeyOf(stack, first);
  });

  after(async () => {
    await stack?.stop();
  });

  describe('a json:raw run', () => {
    it('returns a provenance envelope that go-securesystemslib verifies', async () => {
      const bundleDir = bundleOf(stack, first);

      const report = await verifyWithPeer(bundleDir, path.join(bundleDir, 'signatures/jwks.json'));

      const provenance = await readFile(path.join(bundleDir, 'provenance.json'));
      assert.deepEqual(report, {
        keyids: [firstKey],
        payloadType: 'application/vnd.in-toto+json',
        payloadSha256: sha256(provenance),
      });
    });

    it('returns an envelope that go-securesystemslib rejects under another key', async () => {
      const other = path.join(stack.config.dataDir, 'other-jwks.json');
      const { stdout } = await run('node', [
        '-e',
        `const c=require('node:crypto');const k=c.generateKeyPairSync('ed25519').publicKey;` +
          `console.log(JSON.stringify({keys:[{...k.export({format:'jwk'}),kid:'${firstKey}'}]}))`,
      ]);
      await writeFile(other, stdout);

      await assert.rejects(verifyWithPeer(bundleOf(stack, first), other), /threshold/);
    });
  });

  describe('stella export keys', () => {
    let second: RunView;
    let rotatedKey: string;

    before(async () => {
      const rotated = await runCli(['export', 'keys', 'rotate', '--json'], env);
      assert.equal(rotated.code, 0, rotated.stderr);
      rotatedKey = JSON.parse(rotated.stdout).keyId;
      second = await exportAndWait(stack, 'prof_json_raw');
    });

    describe('rotate', () => {
      it('returns a new key that the next run signs with', async () => {
        assert.notEqual(rotatedKey, firstKey);
        assert.equal(await signingKeyOf(stack, second), rotatedKey);
      });

      it('lists the old key retired and the new one active', async () => {
        const listed = await runCli(['export', 'keys', 'list', '--jwks'], env);
        const jwks = JSON.parse(listed.stdout) as JWKS;

        const statuses = Object.fromEntries(jwks.keys.map((key) => [key.kid, key.status]));
        assert.deepEqual(statuses, { [firstKey]: 'retired', [rotatedKey]: 'active' });
      });

      it('leaves the old bundle verifying with the published keys, exit 0', async () => {
        const jwksFile = await publishedJwksFile(env, stack, 'after-rotation');

        const args = ['export', 'verify', bundleOf(stack, first), '--jwks', jwksFile];
        const result = await runCli(args, env);

        assert.equal(result.code, 0, result.stdout + result.stderr);
        assert.match(result.stdout, new RegExp(`OK: signature by key ${firstKey}`));
      });
    });

    describe('compromise', () => {
      before(async () => {
        const marked = await runCli(['export', 'keys', 'compromise', firstKey], env);
        assert.equal(marked.code, 0, marked.stderr);
      });

      it('makes verify of a bundle it signed exit 6, saying it is compromised', async () => {
        const jwksFile = await publishedJwksFile(env, stack, 'after-compromise');

        const args = ['export', 'verify', bundleOf(stack, first), '--jwks', jwksFile];
        const result = await runCli(args, env);

        assert.equal(result.code, 6, result.stdout + result.stderr);
        assert.match(result.stdout, /key signatures\/export\.sig: key \S+ is marked compromised/);
        assert.match(result.stdout, /provenance\.dsse\.json: key \S+ is marked compromised/);
      });

      it('leaves bundles of the new key verifying, exit 0', async () => {
        const jwksFile = await publishedJwksFile(env, stack, 'after-compromise-2');

        const args = ['export', 'verify', bundleOf(stack, second), '--jwks', jwksFile];
        const result = await runCli(args, env);

        assert.equal(result.code, 0, result.stdout + result.stderr);
      });

      it('records the rotation and the compromise in the audit log with key ids', async () => {
        const { entries } = await stack.client().json<{ entries: AuditView[] }>(
          'GET',
          '/export/audit?action=key.change',
        );

        const seen = entries.map((entry) => [entry.details.operation, entry.target, entry.outcome]);
        assert.deepEqual(seen.reverse(), [
          ['rotate', rotatedKey, 'succeeded'],
          ['compromise', firstKey, 'succeeded'],
        ]);
      });
    });

    describe('POST /export/runs/{id}/verify', () => {
      it('returns ok for the active key\'s bundle, a failure for the compromised one', async () => {
        const before = await verifyFailCount(stack);
        const api = stack.client();

        const good = await api.json<VerifyAnswer>('POST', `/export/runs/${second.id}/verify`);
        const bad = await api.json<VerifyAnswer>('POST', `/export/runs/${first.id}/verify`);

        assert.equal(good.ok, true);
        assert.equal(bad.ok, false);
        assert.match(bad.failures[0].message, /marked compromised/);
        assert.equal(await verifyFailCount(stack), before + 1);
      });
    });
  });

  describe('a mirror:delta bundle and its base', () => {
    let full: RunView;
    let otherFull: RunView;
    let delta: RunView;

    before(async () => {
      full = await exportAndWait(stack, 'prof_mirror_full');
      otherFull = await exportAndWait(stack, 'prof_mirror_full');
      delta = await exportAndWait(stack, 'prof_mirror_delta', { baseRunId: full.id });
      assert.equal(delta.state, 'succeeded', delta.errorMessage ?? '');
    });

    it('exits 0 without --base, saying the base link was not checked', async () => {
      const result = await runCli(['export', 'verify', bundleOf(stack, delta)], env);

      assert.equal(result.code, 0, result.stdout + result.stderr);
      const notChecked = `base link NOT checked: this delta builds on run ${full.id}`;
      assert.ok(result.stdout.includes(notChecked), result.stdout);
    });

    it('exits 0 with the right base, as a folder or as its .tar.zst', async () => {
      const archive = bundlePaths(stack.config, { tenant: 'default', runId: full.id }).archive;

      for (const base of [bundleOf(stack, full), archive]) {
        const args = ['export', 'verify', bundleOf(stack, delta), '--base', base];
        const result = await runCli(args, env);

        assert.equal(result.code, 0, result.stdout + result.stderr);
        assert.match(result.stdout, new RegExp(`base link OK: run ${full.id}`));
      }
    });

    it('exits 6 with a wrong base, naming the expected and the given run', async () => {
      const base = path.join(bundleOf(stack, otherFull), 'export.json');

      const args = ['export', 'verify', bundleOf(stack, delta), '--base', base];
      const result = await runCli(args, env);

      assert.equal(result.code, 6, result.stdout + result.stderr);
      const expected = `base export.json: this delta builds on run ${full.id} whose export.json ` +
        `has sha256 ${full.manifestSha256 ?? ''}`;
      assert.ok(result.stdout.includes(expected), result.stdout);
      assert.match(result.stdout, new RegExp(`\\(it is run ${otherFull.id}\\)`));
    });

    it('returns the base link matched when the API verifies the run', async () => {
      const answer = await stack.client().json<VerifyAnswer & { baseLink?: { status: string } }>(
        'POST', `/export/runs/${delta.id}/verify`);

      assert.deepEqual([answer.ok, answer.baseLink?.status], [true, 'matched']);
    });
  });

  describe('signing keys per tenant', () => {
    let otherKeys: JWKS;
    let defaultBefore: JWKS;

    before(async () => {
      defaultBefore = await jwksOf(stack, 'default');
      const other = stack.client('other-tenant');
      await other.json('POST', '/export/keys/rotate', {});
      await other.json('POST', '/export/keys/rotate', { algorithm: 'ES256' });
      otherKeys = await jwksOf(stack, 'other-tenant');
    });

    it('returns tenant A\'s key set unchanged by tenant B\'s rotations', async () => {
      assert.deepEqual(await jwksOf(stack, 'default'), defaultBefore);
      const run = await exportAndWait(stack, 'prof_json_raw');
      const active = defaultBefore.keys.find((key) => key.status === 'active');
      assert.equal(await signingKeyOf(stack, run), active?.kid);
    });

    it('returns a JWKS for A that lists none of B\'s keys, nor B\'s for A', async () => {
      const ofA = new Set((await jwksOf(stack, 'default')).keys.map((key) => key.kid));
      const ofB = otherKeys.keys.map((key) => key.kid);

      assert.equal(ofB.length, 2);
      assert.deepEqual(ofB.filter((kid) => ofA.has(kid)), []);
    });

    it('throws not_found when B marks A\'s key compromised, A\'s staying active', async () => {
      const active = defaultBefore.keys.find((key) => key.status === 'active')!;
      const path = `/export/keys/${active.kid}/compromise`;

      await assert.rejects(stack.client('other-tenant').json('POST', path, {}),
        (err: { code?: string }) => err.code === 'not_found');
      assert.deepEqual(await jwksOf(stack, 'default'), defaultBefore);
    });

    it('throws bad_request for a JWKS request that names no tenant', async () => {
      const response = await fetch(`${stack.api.url}/export/jwks`);

      assert.equal(response.status, 400);
      assert.match(await response.text(), /tenant=NAME/);
    });
  });

  describe('stella export verify of a tampered copy', () => {
    const DATA = 'advisories/normalized.jsonl.zst';
    const cases: [string, (dir: string) => Promise<void>, RegExp][] = [
      ['a byte of a data file changes', (dir) => flipByte(dir, DATA), /hash advisories\//],
      ['a file is removed', (dir) => rm(path.join(dir, 'provenance.json')), /missing_file prov/],
      ['a file is added', (dir) => writeFile(path.join(dir, 'x.txt'), 'x'), /unlisted_file x\.txt/],
      [
        'the envelope is swapped for one signed by another key',
        (dir) => swapEnvelope(dir),
        /signature signatures\/provenance\.dsse\.json: no trusted key with kid/,
      ],
    ];
    for (const [index, [when, tamper, expected]] of cases.entries()) {
      describe(`when ${when}`, () => {
        it('exits 6 naming the problem', async () => {
          const copy = path.join(stack.config.dataDir, `tampered-${index}`);
          await cp(bundleOf(stack, first), copy, { recursive: true });
          await tamper(copy);

          const result = await runCli(['export', 'verify', copy], env);

          assert.equal(result.code, 6, result.stdout + result.stderr);
          assert.match(result.stdout, expected);
        });
      });
    }

    async function swapEnvelope(dir: string) {
      const other = await exportAndWait(stack, 'prof_json_raw');
      const envelope = 'signatures/provenance.dsse.json';
      await cp(path.join(bundleOf(stack, other), envelope), path.join(dir, envelope));
    }
  });

  describe('an encrypted mirror:full profile', { skip: ageMissing && 'age is not on PATH' }, () => {
    let keyFile: string;
    let encrypted: RunView;

    before(async () => {
      keyFile = path.join(stack.config.dataDir, 'age-key.txt');
      await run('age-keygen', ['-o', keyFile]);
      const recipient = (await run('age-keygen', ['-y', keyFile])).stdout.trim();
      const config = { encrypt: true, recipients: [recipient] };
      const profile = { id: 'mirror-sealed', name: 'sealed', kind: 'mirror:full', config };
      await stack.client().json('POST', '/export/profiles', profile);
      encrypted = await exportAndWait(stack, 'mirror-sealed');
    });

    it('returns .age data files and a readable manifest.yaml, exit 0 on verify', async () => {
      const bundleDir = bundleOf(stack, encrypted);
      const files = await listFiles(bundleDir);
      const data = files.filter((file) => /^(advisories|vex|sboms|indexes)\//.test(file));

      assert.equal(encrypted.state, 'succeeded');
      assert.ok(data.length > 0 && data.every((file) => file.endsWith('.age')), data.join());
      const manifest = await readFile(path.join(bundleDir, 'manifest.yaml'), 'utf8');
      assert.match(manifest, /stella\.mirror\/v1/);
      assert.equal((await runCli(['export', 'verify', bundleDir], env)).code, 0);
    });

    it('decrypts with `stella export decrypt` and with the age CLI to the same bytes', async () => {
      const archive = bundlePaths(stack.config, { tenant: 'default', runId: encrypted.id }).archive;
      const outDir = path.join(stack.config.dataDir, 'decrypted');

      const args = ['export', 'decrypt', archive, '--identity', keyFile, '--out', outDir];
      const result = await runCli(args, env);

      assert.equal(result.code, 0, result.stderr);
      const index = 'indexes/advisories.index.json';
      const sealed = path.join(bundleOf(stack, encrypted), `${index}.age`);
      const age = await run('age', ['-d', '-i', keyFile, sealed], { encoding: 'buffer' });
      const viaAge = age.stdout;
      assert.deepEqual(await readFile(path.join(outDir, index)), viaAge);
      assert.match(viaAge.toString(), /GO-2020-0001/);
    });

    it('imports into a mirror with `stella mirror import --identity`, and not without', async () => {
      const archive = bundlePaths(stack.config, { tenant: 'default', runId: encrypted.id }).archive;
      const root = path.join(stack.config.dataDir, 'sealed-mirror');

      const refused = await runCli(['mirror', 'import', archive, '--root', root], env);
      const args = ['mirror', 'import', archive, '--root', root, '--identity', keyFile];
      const imported = await runCli(args, env);

      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /encrypted \(age\): pass the identity file/);
      assert.equal(imported.code, 0, imported.stderr);
      assert.match(imported.stdout, new RegExp(`imported full ${encrypted.id}`));
    });

    it('fails a run of a profile that encrypts without recipients, writing nothing', async () => {
      const profile = { id: 'mirror-no-keys', name: 'x', kind: 'mirror:full' as const };
      await createProfile(stack.db, 'default', { ...profile, config: { encrypt: true } });

      const failed = await exportAndWait(stack, 'mirror-no-keys');

      assert.deepEqual([failed.state, failed.errorClass], ['failed', 'bad_request']);
      assert.match(failed.errorMessage ?? '', /recipients/);
      const paths = bundlePaths(stack.config, { tenant: 'default', runId: failed.id });
      assert.deepEqual(await listFiles(paths.staging).catch(() => []), []);
    });

    it('refuses such a profile at the API with bad_request', async () => {
      const config = { encrypt: true };
      const profile = { id: 'mirror-refused', name: 'x', kind: 'mirror:full', config };

      await assert.rejects(
        stack.client().json('POST', '/export/profiles', profile),
        (err: { code?: string }) => err.code === 'bad_request',
      );
    });
  });

  describe('private key material', () => {
    it('appears in no bundle, database file or worker log line', async () => {
      const secrets = await privateKeySecrets(stack.config.keysDir);
      const haystacks = [
        ...(await filesUnderDir(stack.config.exportsDir)),
        ...(await filesUnderDir(stack.config.dataDir)).filter((file) => /\.db(-wal)?$/.test(file)),
      ];
      assert.ok(secrets.length >= 4, 'two keys, each in two encodings');
      assert.ok(workerLog.includes('Bundle signed'), 'the worker log was captured');

      for (const file of haystacks) {
        const bytes = await readFile(file);
        for (const secret of secrets) assert.equal(bytes.includes(secret), false, file);
      }
      for (const secret of secrets) assert.equal(workerLog.includes(secret.toString()), false);
    });
  });
});

interface AuditView {
  target: string;
  outcome: string;
  details: { operation?: string };
}

async function buildPeer(): Promise<void> {
  const built = await readFile(PEER).then(() => true, () => false);
  if (built) return;

  await run('go', ['build', '-o', PEER, '.'], { cwd: PEER_SOURCE, timeout: 600_000 });
}

async function verifyWithPeer(bundleDir: string, jwksFile: string): Promise<PeerReport> {
  const envelope = path.join(bundleDir, 'signatures/provenance.dsse.json');
  const { stdout } = await run(PEER, [envelope, jwksFile]);

  return JSON.parse(stdout) as PeerReport;
}

async function exportAndWait(
  stack: ExportStack,
  profileId: string,
  options: Record<string, unknown> = {},
): Promise<RunView> {
  const api = stack.client();
  const created = await api.json<RunView>('POST', '/export/runs', { profileId, ...options });

  return waitForRun(api, created.id, { quiet: true, intervalMs: 200 });
}

function bundleOf(stack: ExportStack, view: RunView): string {
  return bundlePaths(stack.config, { tenant: 'default', runId: view.id }).final;
}

async function signingKeyOf(stack: ExportStack, view: RunView): Promise<string> {
  const jws = await readFile(path.join(bundleOf(stack, view), 'signatures/export.sig'), 'utf8');
  const header = JSON.parse(Buffer.from(jws.split('.')[0], 'base64url').toString());

  return header.kid as string;
}

async function jwksOf(stack: ExportStack, tenant: string): Promise<JWKS> {
  const response = await fetch(`${stack.api.url}/export/jwks?tenant=${tenant}`);
  assert.equal(response.status, 200);

  return (await response.json()) as JWKS;
}

async function publishedJwksFile(env: NodeJS.ProcessEnv, stack: ExportStack, name: string) {
  const listed = await runCli(['export', 'keys', 'list', '--jwks'], env);
  assert.equal(listed.code, 0, listed.stderr);
  const file = path.join(stack.config.dataDir, `${name}.jwks.json`);
  await writeFile(file, listed.stdout);

  return file;
}

async function verifyFailCount(stack: ExportStack): Promise<number> {
  const text = await (await fetch(`${stack.api.url}/metrics`)).text();
  const match = /^export_verify_fail_total (\d+)/m.exec(text);

  return match ? Number(match[1]) : 0;
}

async function flipByte(dir: string, relative: string): Promise<void> {
  const file = path.join(dir, relative);
  const bytes = await readFile(file);
  bytes[Math.floor(bytes.length / 2)] ^= 1;
  await writeFile(file, bytes);
}

async function listFiles(dir: string): Promise<string[]> {
  return (await filesUnderDir(dir)).map((file) => path.relative(dir, file)).sort();
}

async function filesUnderDir(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });

  return entries.filter((entry) => entry.isFile()).map((e) => path.join(e.parentPath, e.name));
}

// Each local private key (the tenants' folders included) as its PEM body and as its raw
// secret (JWK "d", base64url).
async function privateKeySecrets(keysDir: string): Promise<Buffer[]> {
  const names = await readdir(keysDir, { recursive: true });
  const pems = names.filter((name) => name.endsWith('.pem'));
  const secrets: Buffer[] = [];
  for (const name of pems) {
    const pem = await readFile(path.join(keysDir, name), 'utf8');
    const body = pem.split('\n').filter((line) => line && !line.startsWith('-----')).join('');
    const d = createPrivateKey(pem).export({ format: 'jwk' }).d as string;
    secrets.push(Buffer.from(body), Buffer.from(d));
  }

  return secrets;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
