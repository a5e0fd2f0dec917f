// The mirror reader's import of age-encrypted mirror bundles: verified as shipped, then
// decrypted with an identity, then applied; any failure leaves the mirror as it was.
import assert from 'node:assert/strict';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';

import { mirrorDeltaAdapter } from '../../../adapters/mirror/mirror-delta-adapter.js';
import { mirrorFullAdapter } from '../../../adapters/mirror/mirror-full-adapter.js';
import { packTarZst } from '../../../bundle/archive.js';
import { StellaError } from '../../../domain/errors.js';
import { importBundle } from '../../../mirror-reader/import-bundle.js';
import {
  documentsDigest,
  openMirrorDb,
  readHead,
  stateDigests,
} from '../../../mirror-reader/mirror-database.js';
import { EVIDENCE } from '../../support/export-stack.js';
import {
  openMirrorTestStore,
  type MirrorTestStore,
  type SealedRun,
} from '../mirror/mirror-test-store.js';

interface MirrorState {
  head: unknown;
  state: unknown;
  documents: unknown;
}

function mirrorState(root: string): MirrorState {
  const db = openMirrorDb(root);
  try {
    return { head: readHead(db) ?? null, state: stateDigests(db), documents: documentsDigest(db) };
  } finally {
    db.close();
  }
}

function rejectsWith(code: string, pattern: RegExp) {
  return (err: unknown) =>
    err instanceof StellaError && err.code === code && pattern.test(err.message);
}

async function ageFiles(bundleDir: string): Promise<string[]> {
  const entries = await readdir(bundleDir, { recursive: true });

  return entries.filter((name) => name.endsWith('.age')).sort();
}

describe('importBundle', { timeout: 120_000 }, () => {
  let store: MirrorTestStore;
  let identity: string;
  let stranger: string;
  let plain: SealedRun;
  let sealed: SealedRun;
  let strict: SealedRun;
  let sealedDelta: SealedRun;
  let rootCount = 0;

  const root = () => path.join(store.dir, `mirror-${rootCount++}`);

  before(async () => {
    identity = await generateX25519Identity();
    stranger = await generateX25519Identity();
    const recipients = [await identityToRecipient(identity)];
    store = await openMirrorTestStore();
    await store.ingest([path.join(EVIDENCE, 'advisories/osv/go'),
      path.join(EVIDENCE, 'vex/openvex')]);
    plain = await store.run(mirrorFullAdapter);
    sealed = await store.run(mirrorFullAdapter, { profileConfig: { encrypt: true, recipients } });
    strict = await store.run(mirrorFullAdapter,
      { profileConfig: { encrypt: true, recipients, strict: true } });
    sealedDelta = await store.run(mirrorDeltaAdapter,
      { base: sealed, profileConfig: { encrypt: true, recipients } });
  });

  after(async () => {
    await store?.close();
  });

  describe('when an encrypted full bundle is given with an identity', () => {
    it('returns the same mirror state as the plaintext bundle of the same data', async () => {
      const plainRoot = root();
      const sealedRoot = root();
      assert.ok((await ageFiles(sealed.bundleDir)).length > 0);

      const fromPlain = await importBundle({ root: plainRoot, bundle: plain.bundleDir });
      const fromSealed = await importBundle({ root: sealedRoot, bundle: sealed.bundleDir,
        identities: [identity] });

      assert.deepEqual(fromSealed.stateDigest, fromPlain.stateDigest);
      assert.deepEqual(mirrorState(sealedRoot).documents, mirrorState(plainRoot).documents);
      assert.equal(fromSealed.runId, sealed.runId);
    });

    it('returns the same state from its .tar.zst archive', async () => {
      const archive = path.join(store.dir, `${sealed.runId}.tar.zst`);
      await packTarZst(sealed.bundleDir, archive);

      const fromArchive = await importBundle({ root: root(), bundle: archive,
        identities: [identity] });
      const fromPlain = await importBundle({ root: root(), bundle: plain.bundleDir });

      assert.deepEqual(fromArchive.stateDigest, fromPlain.stateDigest);
    });
  });

  describe('when a strict bundle (manifest.yaml encrypted too) is given', () => {
    it('returns the state of the plaintext bundle', async () => {
      assert.ok((await ageFiles(strict.bundleDir)).includes('manifest.yaml.age'));

      const fromStrict = await importBundle({ root: root(), bundle: strict.bundleDir,
        identities: [identity] });
      const fromPlain = await importBundle({ root: root(), bundle: plain.bundleDir });

      assert.deepEqual(fromStrict.stateDigest, fromPlain.stateDigest);
    });
  });

  describe('when an encrypted delta follows its encrypted base', () => {
    it('returns the delta applied on the base', async () => {
      const mirror = root();
      await importBundle({ root: mirror, bundle: sealed.bundleDir, identities: [identity] });

      const result = await importBundle({ root: mirror, bundle: sealedDelta.bundleDir,
        identities: [identity] });

      assert.deepEqual([result.kind, result.baseRunId], ['delta', sealed.runId]);
      // The mirror checks the base against its head, so verify's "not checked" is not shown.
      assert.equal(result.warnings.some((warning) => warning.includes('base link')), false);
      const head = mirrorState(mirror).head as { runId: string; manifestSha256: string };
      assert.deepEqual([head.runId, head.manifestSha256],
        [sealedDelta.runId, sealedDelta.manifestSha256]);
    });
  });

  describe('when the import fails', () => {
    let mirror: string;
    let before: MirrorState;

    const refuse = async (bundle: string, identities: string[] | undefined,
      code: string, pattern: RegExp) => {
      await assert.rejects(importBundle({ root: mirror, bundle, identities }),
        rejectsWith(code, pattern));
      assert.deepEqual(mirrorState(mirror), before);
    };

    it('throws bad_request without an identity, and changes nothing', async () => {
      mirror = root();
      await importBundle({ root: mirror, bundle: plain.bundleDir });
      before = mirrorState(mirror);

      await refuse(sealed.bundleDir, undefined, 'bad_request', /encrypted.*--identity/);
    });

    it('throws denied with an identity that is not a recipient, and changes nothing', async () => {
      await refuse(sealed.bundleDir, [stranger], 'denied', /none of the identities/);
    });

    it('throws integrity_failed for a changed ciphertext before decrypting it', async () => {
      const copy = path.join(store.dir, 'tampered-sealed');
      await cp(sealed.bundleDir, copy, { recursive: true });
      const [first] = await ageFiles(copy);
      const file = path.join(copy, first);
      const bytes = await readFile(file);
      bytes[bytes.length - 1] ^= 1;
      await writeFile(file, bytes);

      // The stranger's identity could not decrypt either: the verification failure comes
      // first, so it is the one reported.
      await refuse(copy, [stranger], 'integrity_failed', /failed verification: hash/);
    });

    it('throws integrity_failed when encryption.json does not match the plaintext', async () => {
      const copy = path.join(store.dir, 'lying-sealed');
      await cp(sealed.bundleDir, copy, { recursive: true });
      const infoPath = path.join(copy, 'encryption.json');
      const info = JSON.parse(await readFile(infoPath, 'utf8'));
      info.files[0].plaintext.sha256 = '0'.repeat(64);
      await writeFile(infoPath, JSON.stringify(info));
      await store.reseal(copy);

      await refuse(copy, [identity], 'integrity_failed', /does not match encryption\.json/);
    });
  });
});
