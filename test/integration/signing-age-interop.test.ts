// Interop of mirror encryption with the reference age CLI (Debian package `age`), both ways.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';

import type { AdapterOutput, WriteContext } from '../../adapters/export-adapter.js';
import {
  ENCRYPTION_SCHEMA,
  decryptMirrorBundle,
  parseIdentityFile,
  withMirrorEncryption,
  type EncryptionInfo,
} from '../../adapters/mirror/mirror-encryption.js';
import { writeFileAtomic } from '../../bundle/files.js';
import { removeTemporaryDirs, temporaryDir } from '../unit/signing/bundle-builder.js';

const run = promisify(execFile);
const ageMissing = spawnSync('age', ['--version']).error !== undefined;
// Bytes that cross a 64 KiB age STREAM chunk boundary, so multi-chunk files are covered.
const DATA = Buffer.concat([Buffer.from('records\n'), Buffer.alloc(70_000, 0x5a)]);
const DATA_PATH = 'advisories/normalized/advisories-0000.jsonl.zst';

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function writeOneDataFile(context: WriteContext): Promise<AdapterOutput> {
  await writeFileAtomic(join(context.stagingDir, DATA_PATH), DATA);
  const file = { path: DATA_PATH, sha256: sha256(DATA), size: DATA.length, mediaType: 'x' };

  const lineage = { [DATA_PATH]: { documents: [] } };

  return { files: [file], lineage, counts: {}, schemaVersions: {} };
}

describe('mirror encryption with the age CLI', { skip: ageMissing && 'age is not on PATH' }, () => {
  let keyFile: string;
  let recipient: string;

  before(async () => {
    keyFile = join(await temporaryDir('age-keys'), 'key.txt');
    await run('age-keygen', ['-o', keyFile]);
    recipient = (await run('age-keygen', ['-y', keyFile])).stdout.trim();
  });

  after(removeTemporaryDirs);

  describe('age --decrypt of a file the exporter encrypted', () => {
    it('returns the plaintext bytes', async () => {
      const stagingDir = await temporaryDir('staging');
      const profileConfig = { encrypt: true, recipients: [recipient] };
      const context = { stagingDir, profileConfig } as unknown as WriteContext;
      await withMirrorEncryption(writeOneDataFile)(context);
      const output = join(await temporaryDir('plain'), 'data');

      const sealed = join(stagingDir, `${DATA_PATH}.age`);
      await run('age', ['--decrypt', '-i', keyFile, '-o', output, sealed]);

      assert.deepEqual(await readFile(output), DATA);
    });
  });

  describe('decryptMirrorBundle of a file age --encrypt wrote', () => {
    it('returns the plaintext with an identity from age-keygen and one made here', async () => {
      const ours = await generateX25519Identity();
      const bundleDir = await temporaryDir('bundle');
      const plaintext = join(bundleDir, 'plain.bin');
      await writeFile(plaintext, DATA);
      const encrypted = join(bundleDir, `${DATA_PATH}.age`);
      await mkdir(join(bundleDir, 'advisories/normalized'), { recursive: true });
      const recipients = ['-r', recipient, '-r', await identityToRecipient(ours)];
      await run('age', ['--encrypt', ...recipients, '-o', encrypted, plaintext]);
      await rm(plaintext);
      await writeInfo(bundleDir);

      for (const identities of [parseIdentityFile(await readFile(keyFile, 'utf8')), [ours]]) {
        const outDir = join(await temporaryDir('out'), 'plain');
        await decryptMirrorBundle({ bundleDir, outDir, identities });

        assert.deepEqual(await readFile(join(outDir, DATA_PATH)), DATA);
      }
    });
  });
});

async function writeInfo(bundleDir: string): Promise<void> {
  const info: EncryptionInfo = {
    schema: ENCRYPTION_SCHEMA,
    scheme: 'age',
    strict: false,
    recipients: [],
    files: [
      {
        path: `${DATA_PATH}.age`,
        plaintext: { path: DATA_PATH, sha256: sha256(DATA), size: DATA.length, mediaType: 'x' },
      },
    ],
  };
  await writeFile(join(bundleDir, 'encryption.json'), JSON.stringify(info));
}
