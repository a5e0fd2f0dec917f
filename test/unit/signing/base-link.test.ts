import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { packTarZst } from '../../../bundle/archive.js';
import { MANIFEST_PATH } from '../../../bundle/manifest.js';
import { readBaseManifest } from '../../../signing/base-link.js';
import { loadLocalSigner } from '../../../signing/local-key-signer.js';
import type { Signer } from '../../../signing/signer.js';
import { verifyBundle } from '../../../signing/verify-bundle.js';
import { buildBundle, editManifest, removeTemporaryDirs, temporaryDir } from './bundle-builder.js';

interface Chain {
  signer: Signer;
  baseDir: string;
  deltaDir: string;
}

async function sha256Of(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

// A base bundle and a delta whose export.json names it, as the exporter links them.
async function chain(): Promise<Chain> {
  const signer = await loadLocalSigner({ keysDir: await temporaryDir('keys') });
  const baseDir = await buildBundle(signer);
  await editManifest(baseDir, signer, (manifest) => (manifest.runId = 'run_acme_base'));
  const manifestSha256 = await sha256Of(join(baseDir, MANIFEST_PATH));
  const deltaDir = await buildBundle(signer);
  await editManifest(deltaDir, signer, (manifest) => {
    manifest.runId = 'run_acme_delta';
    manifest.base = { runId: 'run_acme_base', manifestSha256 };
  });

  return { signer, baseDir, deltaDir };
}

describe('verifyBundle', () => {
  after(removeTemporaryDirs);

  describe('when a delta is verified without its base', () => {
    it('returns ok with a warning that the base link was not checked', async () => {
      const { deltaDir } = await chain();

      const result = await verifyBundle({ bundleDir: deltaDir });

      assert.equal(result.ok, true);
      assert.equal(result.baseLink?.status, 'not_checked');
      const warning = result.warnings.find((text) => text.includes('base link NOT checked'));
      assert.match(warning ?? '', /builds on run run_acme_base whose export\.json has sha256/);
    });
  });

  describe('when a delta is verified with the right base', () => {
    for (const form of ['folder', 'export.json', '.tar.zst'] as const) {
      it(`returns ok and the link matched, the base given as its ${form}`, async () => {
        const { baseDir, deltaDir } = await chain();
        const archive = join(await temporaryDir('archive'), 'base.tar.zst');
        await packTarZst(baseDir, archive);
        const given = { folder: baseDir, 'export.json': join(baseDir, MANIFEST_PATH),
          '.tar.zst': archive }[form];

        const result = await verifyBundle({ bundleDir: deltaDir,
          base: await readBaseManifest(given) });

        assert.deepEqual(result.failures, []);
        assert.deepEqual([result.baseLink?.status, result.baseLink?.runId],
          ['matched', 'run_acme_base']);
        assert.equal(result.warnings.some((text) => text.includes('base link')), false);
      });
    }
  });

  describe('when a delta is verified with a wrong base', () => {
    it('returns a base failure naming both hashes and the run the wrong base is', async () => {
      const { signer, deltaDir } = await chain();
      const otherDir = await buildBundle(signer);
      await editManifest(otherDir, signer, (manifest) => (manifest.runId = 'run_acme_other'));
      const expected = JSON.parse(await readFile(join(deltaDir, MANIFEST_PATH), 'utf8')).base;
      const actual = await sha256Of(join(otherDir, MANIFEST_PATH));

      const result = await verifyBundle({ bundleDir: deltaDir,
        base: await readBaseManifest(otherDir) });

      assert.equal(result.ok, false);
      assert.deepEqual(result.failures.map((failure) => [failure.check, failure.path]),
        [['base', 'export.json']]);
      const message = result.failures[0].message;
      assert.ok(message.includes(`export.json has sha256 ${expected.manifestSha256}`), message);
      assert.ok(message.includes(`has export.json sha256 ${actual} (it is run run_acme_other)`));
    });
  });

  describe('when a base is given for a bundle that is not a delta', () => {
    it('returns a base failure saying the bundle names no base', async () => {
      const { baseDir } = await chain();

      const result = await verifyBundle({ bundleDir: baseDir,
        base: await readBaseManifest(baseDir) });

      assert.equal(result.ok, false);
      assert.match(result.failures[0].message, /is not a delta/);
    });
  });

  describe('when the base is known only by its recorded hash', () => {
    it('returns ok when the hash matches and a failure when it does not', async () => {
      const { baseDir, deltaDir } = await chain();
      const sha256 = await sha256Of(join(baseDir, MANIFEST_PATH));

      const good = await verifyBundle({ bundleDir: deltaDir, base: { sha256, source: 'run x' } });
      const bad = await verifyBundle({ bundleDir: deltaDir,
        base: { sha256: '0'.repeat(64), source: 'run x' } });

      assert.equal(good.ok, true);
      assert.deepEqual(bad.failures.map((failure) => failure.check), ['base']);
    });
  });

  describe('when the delta\'s base member is tampered with', () => {
    it('returns a signature failure: the link is covered by the manifest signature', async () => {
      const { signer, baseDir, deltaDir } = await chain();
      const path = join(deltaDir, MANIFEST_PATH);
      const text = await readFile(path, 'utf8');
      const forged = text.replace(/"manifestSha256": "[0-9a-f]{64}"/,
        `"manifestSha256": "${'1'.repeat(64)}"`);
      await writeFile(path, forged);

      const result = await verifyBundle({ bundleDir: deltaDir,
        jwks: { keys: [await signer.publicJwk()] }, base: await readBaseManifest(baseDir) });

      const checks = result.failures.map((failure) => failure.check).sort();
      assert.deepEqual(checks, ['base', 'signature']);
    });
  });
});

describe('readBaseManifest', () => {
  describe('when the path does not exist', () => {
    it('throws not_found', async () => {
      await assert.rejects(readBaseManifest('/nonexistent/base.tar.zst'),
        (err: { code?: string }) => err.code === 'not_found');
    });
  });

  describe('when the archive holds no export.json', () => {
    it('throws not_found naming the archive', async () => {
      const dir = await temporaryDir('empty');
      await writeFile(join(dir, 'x.txt'), 'x');
      const archive = join(await temporaryDir('archive'), 'empty.tar.zst');
      await packTarZst(dir, archive);

      await assert.rejects(readBaseManifest(archive),
        (err: { code?: string; message: string }) =>
          err.code === 'not_found' && err.message.includes('holds no export.json'));
    });
  });
});
