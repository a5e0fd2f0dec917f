import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';

import type { AdapterOutput, WriteContext } from '../../../adapters/export-adapter.js';
import {
  decryptMirrorBundle,
  mirrorEncryptionOf,
  parseIdentityFile,
  readEncryptionInfo,
  withMirrorEncryption,
} from '../../../adapters/mirror/mirror-encryption.js';
import { writeFileAtomic } from '../../../bundle/files.js';
import { StellaError } from '../../../domain/errors.js';
import { removeTemporaryDirs, temporaryDir } from './bundle-builder.js';

const PLAINTEXT: Record<string, string> = {
  'manifest.yaml': 'schema: stella.mirror/v1\nkind: full\n',
  'README.md': '# Mirror\n',
  'advisories/normalized/advisories-0000.jsonl.zst': 'advisory records\n',
  'indexes/advisories.index.json': '{"GHSA-xxxx":0}\n',
  'vex/raw/ab/abcd.json': '{"@context":"https://openvex.dev/ns/v0.2.0"}\n',
};

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

// A stand-in for a mirror adapter: writes PLAINTEXT under staging and lists it.
async function writePlaintext(context: WriteContext): Promise<AdapterOutput> {
  const output: AdapterOutput = {
    files: [],
    lineage: {},
    counts: { advisories: 1 },
    schemaVersions: {},
    extraSignedFiles: ['manifest.yaml'],
  };
  for (const [path, text] of Object.entries(PLAINTEXT)) {
    await writeFileAtomic(join(context.stagingDir, path), text);
    const file = { path, sha256: sha256(text), size: Buffer.byteLength(text), mediaType: 'x' };
    output.files.push(file);
    output.lineage[path] = { documents: [] };
  }

  return output;
}

async function keyPair(): Promise<{ identity: string; recipient: string }> {
  const identity = await generateX25519Identity();

  return { identity, recipient: await identityToRecipient(identity) };
}

async function encryptedStaging(profileConfig: Record<string, unknown>) {
  const stagingDir = await temporaryDir('staging');
  const context = { stagingDir, profileConfig } as unknown as WriteContext;
  const output = await withMirrorEncryption(writePlaintext)(context);

  return { stagingDir, output };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });

  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

function rejectsWith(code: string, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof StellaError);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  };
}

describe('mirror encryption', () => {
  after(removeTemporaryDirs);

  describe('mirrorEncryptionOf', () => {
    describe('when encrypt is absent', () => {
      it('returns undefined', () => {
        assert.equal(mirrorEncryptionOf({ recipients: [] }), undefined);
      });
    });

    describe('when encrypt is true without recipients', () => {
      it('throws bad_request asking for recipients', () => {
        const config = { encrypt: true };

        assert.throws(() => mirrorEncryptionOf(config), rejectsWith('bad_request', /recipients/));
      });
    });

    describe('when a recipient is not an age public key', () => {
      it('throws bad_request naming it', () => {
        const config = { encrypt: true, recipients: ['ssh-ed25519 AAAA'] };

        assert.throws(() => mirrorEncryptionOf(config), rejectsWith('bad_request', /ssh-ed25519/));
      });
    });
  });

  describe('withMirrorEncryption', () => {
    describe('when encrypt is true without recipients', () => {
      it('throws bad_request before the adapter writes a file', async () => {
        const stagingDir = await temporaryDir('staging');
        const context = { stagingDir, profileConfig: { encrypt: true } } as unknown as WriteContext;

        const write = withMirrorEncryption(writePlaintext);

        await assert.rejects(write(context), rejectsWith('bad_request', /recipients/));
        assert.deepEqual(await filesUnder(stagingDir), []);
      });
    });

    describe('when encrypt is true and not strict', () => {
      it('returns data files as .age, manifest.yaml and README.md readable', async () => {
        const { recipient } = await keyPair();
        const config = { encrypt: true, recipients: [recipient] };
        const { stagingDir, output } = await encryptedStaging(config);

        const expected = [
          'README.md',
          'advisories/normalized/advisories-0000.jsonl.zst.age',
          'encryption.json',
          'indexes/advisories.index.json.age',
          'manifest.yaml',
          'vex/raw/ab/abcd.json.age',
        ];
        assert.deepEqual(output.files.map((f) => f.path).sort(), expected);
        assert.deepEqual(await filesUnder(stagingDir), expected);
        const manifest = await readFile(join(stagingDir, 'manifest.yaml'), 'utf8');
        assert.equal(manifest, PLAINTEXT['manifest.yaml']);
        assert.deepEqual(output.extraSignedFiles, ['manifest.yaml']);
      });

      it('returns manifest entries with the ciphertext hashes', async () => {
        const { recipient } = await keyPair();
        const config = { encrypt: true, recipients: [recipient] };
        const { stagingDir, output } = await encryptedStaging(config);

        for (const file of output.files) {
          const bytes = await readFile(join(stagingDir, file.path));
          assert.equal(createHash('sha256').update(bytes).digest('hex'), file.sha256, file.path);
        }
      });

      it('writes age files, not the plaintext', async () => {
        const { recipient } = await keyPair();
        const { stagingDir } = await encryptedStaging({ encrypt: true, recipients: [recipient] });

        const bytes = await readFile(join(stagingDir, 'vex/raw/ab/abcd.json.age'));

        assert.match(bytes.subarray(0, 22).toString(), /^age-encryption\.org\/v1\n/);
        assert.equal(bytes.includes(Buffer.from('openvex')), false);
      });
    });

    describe('when encrypt and strict are true', () => {
      it('returns manifest.yaml encrypted and no separately signed file', async () => {
        const { recipient } = await keyPair();
        const config = { encrypt: true, recipients: [recipient], strict: true };
        const { stagingDir, output } = await encryptedStaging(config);

        assert.ok((await filesUnder(stagingDir)).includes('manifest.yaml.age'));
        assert.ok(!(await filesUnder(stagingDir)).includes('manifest.yaml'));
        assert.deepEqual(output.extraSignedFiles, []);
        assert.equal((await readEncryptionInfo(stagingDir)).strict, true);
      });
    });
  });

  describe('decryptMirrorBundle', () => {
    describe('when one of two recipients decrypts', () => {
      it('returns the original plaintext tree byte for byte', async () => {
        const [first, second] = [await keyPair(), await keyPair()];
        const config = { encrypt: true, recipients: [first.recipient, second.recipient] };
        const { stagingDir } = await encryptedStaging(config);
        const outDir = join(await temporaryDir('out'), 'plain');

        await decryptMirrorBundle({ bundleDir: stagingDir, outDir, identities: [second.identity] });

        for (const [path, text] of Object.entries(PLAINTEXT)) {
          assert.equal(await readFile(join(outDir, path), 'utf8'), text, path);
        }
        assert.ok(!(await filesUnder(outDir)).some((path) => path.endsWith('.age')));
      });
    });

    describe('when the identity is not a recipient', () => {
      it('throws denied', async () => {
        const [owner, stranger] = [await keyPair(), await keyPair()];
        const config = { encrypt: true, recipients: [owner.recipient] };
        const { stagingDir } = await encryptedStaging(config);
        const outDir = join(await temporaryDir('out'), 'plain');

        await assert.rejects(
          decryptMirrorBundle({ bundleDir: stagingDir, outDir, identities: [stranger.identity] }),
          rejectsWith('denied', /none of the identities can decrypt/),
        );
      });
    });

    describe('when a byte of a ciphertext body changes', () => {
      it('throws integrity_failed', async () => {
        const { identity, recipient } = await keyPair();
        const { stagingDir } = await encryptedStaging({ encrypt: true, recipients: [recipient] });
        const target = join(stagingDir, 'vex/raw/ab/abcd.json.age');
        const bytes = await readFile(target);
        bytes[bytes.length - 1] ^= 1;
        await writeFile(target, bytes);
        const outDir = join(await temporaryDir('out'), 'plain');

        await assert.rejects(
          decryptMirrorBundle({ bundleDir: stagingDir, outDir, identities: [identity] }),
          rejectsWith('integrity_failed', /abcd\.json\.age/),
        );
      });
    });
  });

  describe('parseIdentityFile', () => {
    describe('when the file has comments as age-keygen writes them', () => {
      it('returns the secret key lines only', () => {
        const text = '# created: 2025-01-01\n# public key: age1x\nAGE-SECRET-KEY-1ABC\n';

        assert.deepEqual(parseIdentityFile(text), ['AGE-SECRET-KEY-1ABC']);
      });
    });
  });
});
