import assert from 'node:assert/strict';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mirrorDeltaAdapter } from '../../adapters/mirror/mirror-delta-adapter.js';
import { mirrorFullAdapter } from '../../adapters/mirror/mirror-full-adapter.js';
import { canonicalJson } from '../../bundle/canonical-json.js';
import { packTarZst } from '../../bundle/archive.js';
import { JWKS_PATH, MANIFEST_PATH, SIGNATURE_PATH } from '../../bundle/manifest.js';
import type { StellaError } from '../../domain/errors.js';
import { importBundle } from '../../mirror-reader/import-bundle.js';
import { TRUSTED_KEYS_FILE } from '../../mirror-reader/trusted-keys.js';
import { loadLocalSigner } from '../../signing/local-key-signer.js';
import type { JWKS, Signer } from '../../signing/signer.js';
import { runCli } from '../support/cli.js';
import { EVIDENCE } from '../support/export-stack.js';
import {
  openMirrorTestStore,
  type MirrorTestStore,
  type SealedRun,
} from '../unit/mirror/mirror-test-store.js';

// Real mirror bundles (the plan → write → sign steps of mirror-test-store.ts) imported through
// the library and through the real `stella` entry point. `foreign` is another publisher's
// full mirror with other content, signed by a key the first publisher never published.
describe('mirror key pinning', { timeout: 180_000 }, () => {
  let store: MirrorTestStore;
  let full: SealedRun;
  let delta: SealedRun;
  let foreign: string;
  let foreignSigner: Signer;
  const jwksFiles = { publisher: '', foreign: '' };

  before(async () => {
    store = await openMirrorTestStore();
    await store.ingest([EVIDENCE]);
    full = await store.run(mirrorFullAdapter);
    delta = await store.run(mirrorDeltaAdapter, { base: full });
    const filters = { excludeAdvisoryIds: ['GHSA-29mw-wpgm-hmr9'] };
    const other = await store.run(mirrorFullAdapter, { filters });
    foreignSigner = await loadLocalSigner({ keysDir: path.join(store.dir, 'foreign-keys') });
    foreign = await signedBy(foreignSigner, other.bundleDir, path.join(store.dir, 'foreign-full'));
    const publisherFile = path.join(store.dir, 'publisher-jwks.json');
    jwksFiles.publisher = await writeJwks(store.signer, publisherFile);
    jwksFiles.foreign = await writeJwks(foreignSigner, path.join(store.dir, 'foreign-jwks.json'));
  });

  after(async () => {
    await store?.close();
  });

  describe('import into an empty mirror', () => {
    describe('when no --jwks is given', () => {
      it('returns a first-use result and pins the bundle\'s own key set', async () => {
        const mirror = root('tofu');
        const result = await importBundle({ root: mirror, bundle: full.bundleDir });

        assert.equal(result.trust, 'first-use');
        assert.equal(result.keyId, store.signer.keyId);
        const warned = /trusted on first use and pinned in .*trusted-keys\.json.*--jwks FILE/s;
        assert.match(result.warnings.join('\n'), warned);
        const shipped = await readFile(path.join(full.bundleDir, JWKS_PATH), 'utf8');
        assert.equal(await pinned(mirror), shipped);
      });
    });

    describe('when an earlier import into it was refused', () => {
      it('returns a first-use result: the refusal pinned nothing', async () => {
        const mirror = root('after-refusal');
        await assert.rejects(
          importBundle({ root: mirror, bundle: delta.bundleDir }),
          (err: StellaError) => err.code === 'conflict',
        );

        const result = await importBundle({ root: mirror, bundle: full.bundleDir });

        assert.equal(result.trust, 'first-use');
      });
    });

    describe('when --jwks is given', () => {
      it('returns a provided result, pins that set and warns of nothing', async () => {
        const mirror = root('explicit');
        const jwks = await jwksOf(store.signer);
        const result = await importBundle({ root: mirror, bundle: full.bundleDir, jwks });

        assert.equal(result.trust, 'provided');
        assert.deepEqual(result.warnings, []);
        assert.deepEqual(JSON.parse(await pinned(mirror)), await jwksOf(store.signer));
      });

      it('throws integrity_failed and pins nothing for another signer\'s bundle', async () => {
        const mirror = root('explicit-mismatch');
        const jwks = await jwksOf(store.signer);
        const refused = importBundle({ root: mirror, bundle: foreign, jwks });

        await assert.rejects(refused, (err: StellaError) => err.code === 'integrity_failed');
        await assert.rejects(readFile(path.join(mirror, TRUSTED_KEYS_FILE)), { code: 'ENOENT' });
      });
    });
  });

  describe('stella mirror import into a pinned mirror', () => {
    describe('when the bundle is signed by a key outside the pinned set', () => {
      it('exits 6 naming the key and --jwks, with state, status and pin unchanged', async () => {
        const mirror = root('takeover');
        await importBundle({ root: mirror, bundle: full.bundleDir });
        const [statusBefore, pinBefore] = [await status(mirror), await pinned(mirror)];
        const archive = path.join(store.dir, 'foreign-full.tar.zst');
        await packTarZst(foreign, archive);

        const result = await runCli(['mirror', 'import', archive, '--root', mirror]);

        assert.equal(result.code, 6, result.stderr);
        assert.match(result.stderr, /integrity_failed/);
        assert.ok(result.stderr.includes(`signed by key ${foreignSigner.keyId}`), result.stderr);
        assert.match(result.stderr, /--jwks FILE/);
        const embeddedWarning = /verified with the key set inside the bundle/;
        assert.doesNotMatch(result.stderr + result.stdout, embeddedWarning);
        assert.deepEqual(await status(mirror), statusBefore);
        assert.equal(await pinned(mirror), pinBefore);
      });
    });

    describe('when the same bundle comes with --jwks of its signer', () => {
      it('exits 0, re-pins that set, and then refuses the old signer without --jwks', async () => {
        const mirror = root('rotated');
        await importBundle({ root: mirror, bundle: full.bundleDir });
        const before = await status(mirror);

        const args = ['mirror', 'import', foreign, '--root', mirror, '--jwks', jwksFiles.foreign];
        const accepted = await runCli(args);
        const old = await runCli(['mirror', 'import', full.bundleDir, '--root', mirror]);

        assert.equal(accepted.code, 0, accepted.stderr);
        assert.match(accepted.stdout, /the --jwks key set, now pinned/);
        assert.notDeepEqual((await status(mirror)).stateDigest, before.stateDigest);
        assert.deepEqual(JSON.parse(await pinned(mirror)), await jwksOf(foreignSigner));
        assert.equal(old.code, 6, old.stderr);
        assert.ok(old.stderr.includes(`signed by key ${store.signer.keyId}`), old.stderr);
      });
    });

    describe('when the bundle is signed by the pinned key', () => {
      it('exits 0 without a warning about the key set', async () => {
        const mirror = root('same-key');
        const args = ['mirror', 'import', full.bundleDir, '--root', mirror];
        args.push('--jwks', jwksFiles.publisher);
        assert.equal((await runCli(args)).code, 0);

        const again = await runCli(['mirror', 'import', full.bundleDir, '--root', mirror]);

        assert.equal(again.code, 0, again.stderr);
        const line = `signed by key ${store.signer.keyId} (the pinned key set)`;
        assert.ok(again.stdout.includes(line), again.stdout);
        assert.doesNotMatch(again.stdout, /warning/);
      });
    });

    describe('when the pinned set marks the signing key compromised', () => {
      it('throws integrity_failed saying the key is compromised', async () => {
        const mirror = root('compromised');
        await importBundle({ root: mirror, bundle: full.bundleDir });
        const jwks = JSON.parse(await pinned(mirror)) as JWKS;
        jwks.keys[0].status = 'compromised';
        await writeFile(path.join(mirror, TRUSTED_KEYS_FILE), canonicalJson(jwks));

        await assert.rejects(
          importBundle({ root: mirror, bundle: full.bundleDir }),
          (err: StellaError) => err.code === 'integrity_failed' && /compromised/.test(err.message),
        );
      });
    });
  });

  describe('import into a mirror that holds data but no pinned set', () => {
    it('throws integrity_failed without --jwks', async () => {
      const mirror = root('legacy');
      await importBundle({ root: mirror, bundle: full.bundleDir });
      // As a mirror filled before keys were pinned looks.
      await rm(path.join(mirror, TRUSTED_KEYS_FILE));

      await assert.rejects(
        importBundle({ root: mirror, bundle: foreign }),
        (err: StellaError) =>
          err.code === 'integrity_failed' && /no pinned key set/.test(err.message),
      );
    });
  });

  function root(name: string): string {
    return path.join(store.dir, 'mirrors', name);
  }
});

async function pinned(mirror: string): Promise<string> {
  return readFile(path.join(mirror, TRUSTED_KEYS_FILE), 'utf8');
}

async function status(mirror: string) {
  const result = await runCli(['mirror', 'status', '--root', mirror, '--json']);
  assert.equal(result.code, 0, result.stderr);

  return JSON.parse(result.stdout) as {
    head: { runId: string };
    stateDigest: Record<string, string>;
  };
}

async function jwksOf(signer: Signer): Promise<JWKS> {
  return { keys: [await signer.publicJwk()] } as JWKS;
}

async function writeJwks(signer: Signer, file: string): Promise<string> {
  await writeFile(file, canonicalJson(await jwksOf(signer)) + '\n');

  return file;
}

// A copy of a sealed bundle with export.json signed by another key and that key's set
// shipped inside: what another tenant or an attacker can make without the publisher's key.
async function signedBy(signer: Signer, bundleDir: string, copy: string): Promise<string> {
  await cp(bundleDir, copy, { recursive: true });
  const manifest = await readFile(path.join(copy, MANIFEST_PATH));
  await writeFile(path.join(copy, SIGNATURE_PATH), (await signer.signDetached(manifest)) + '\n');
  await writeFile(path.join(copy, JWKS_PATH), canonicalJson(await jwksOf(signer)) + '\n');

  return copy;
}
