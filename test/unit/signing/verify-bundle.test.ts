import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFile, copyFile, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { base64url } from 'jose';

import { PROVENANCE_PATH, SIGNATURE_PATH } from '../../../bundle/manifest.js';
import {
  loadLocalSigner,
  markKeyCompromised,
  publishedJwks,
  rotateLocalKey,
} from '../../../signing/local-key-signer.js';
import type { Signer } from '../../../signing/signer.js';
import { verifyBundle, type VerifyFailure } from '../../../signing/verify-bundle.js';
import {
  buildBundle,
  editManifest,
  removeTemporaryDirs,
  statementFor,
  temporaryDir,
} from './bundle-builder.js';

async function freshSigner(algorithm: 'EdDSA' | 'ES256' = 'EdDSA') {
  const keysDir = await temporaryDir('keys');
  return { keysDir, signer: await loadLocalSigner({ keysDir, algorithm }) };
}

async function flipByte(path: string, offset = 0): Promise<void> {
  const bytes = await readFile(path);
  bytes[offset] ^= 0x01;
  await writeFile(path, bytes);
}

function checksAndPaths(failures: VerifyFailure[]): Array<[string, string | undefined]> {
  return failures.map((failure) => [failure.check, failure.path]);
}

async function failuresAfter(tamper: (bundleDir: string, signer: Signer) => Promise<void>) {
  const { signer } = await freshSigner();
  const bundleDir = await buildBundle(signer);
  await tamper(bundleDir, signer);
  const result = await verifyBundle({ bundleDir });
  assert.equal(result.ok, false);

  return result.failures;
}

describe('verifyBundle', () => {
  after(removeTemporaryDirs);

  describe('when the bundle is untouched', () => {
    for (const algorithm of ['EdDSA', 'ES256'] as const) {
      it(`returns ok with the ${algorithm} signing key id and every file checked`, async () => {
        const { signer } = await freshSigner(algorithm);
        const bundleDir = await buildBundle(signer);

        const result = await verifyBundle({ bundleDir });

        assert.deepEqual(result.failures, []);
        assert.equal(result.ok, true);
        assert.equal(result.keyId, signer.keyId);
        assert.equal(result.filesChecked, 4);
      });
    }

    it('returns keySource "embedded" and a warning when no trusted keys are given', async () => {
      const { signer } = await freshSigner();
      const result = await verifyBundle({ bundleDir: await buildBundle(signer) });

      assert.equal(result.keySource, 'embedded');
      assert.match(result.warnings.join('\n'), /not who produced it/);
    });

    it('returns keySource "provided" and no warning when trusted keys are given', async () => {
      const { keysDir, signer } = await freshSigner();
      const bundleDir = await buildBundle(signer);

      const result = await verifyBundle({ bundleDir, jwks: await publishedJwks({ keysDir }) });

      assert.equal(result.ok, true);
      assert.equal(result.keySource, 'provided');
      assert.deepEqual(result.warnings, []);
    });

    it('returns ok when extra files sit under signatures/', async () => {
      const { signer } = await freshSigner();
      const bundleDir = await buildBundle(signer);
      await writeFile(join(bundleDir, 'signatures/extra.sig'), 'x');

      assert.equal((await verifyBundle({ bundleDir })).ok, true);
    });
  });

  describe('when a byte of a listed file changes', () => {
    const listed = [
      'advisories/normalized.jsonl.zst',
      'vex/normalized.jsonl.zst',
      'sboms/pkg-a.cdx.json',
      PROVENANCE_PATH,
    ];
    for (const path of listed) {
      it(`returns one hash failure for ${path}`, async () => {
        const failures = await failuresAfter((dir) => flipByte(join(dir, path), 3));

        assert.deepEqual(checksAndPaths(failures), [['hash', path]]);
      });
    }
  });

  describe('when a listed file grows', () => {
    it('returns a size failure for that path', async () => {
      const path = 'vex/normalized.jsonl.zst';
      const failures = await failuresAfter((dir) => appendFile(join(dir, path), 'more'));

      assert.deepEqual(checksAndPaths(failures), [['size', path]]);
      assert.match(failures[0].message, /14 bytes, the manifest says 10/);
    });
  });

  describe('when export.json changes after signing', () => {
    it('returns a signature failure on signatures/export.sig', async () => {
      const failures = await failuresAfter(async (dir) => {
        const text = await readFile(join(dir, 'export.json'), 'utf8');
        await writeFile(join(dir, 'export.json'), text.replace('run-0001', 'run-0002'));
      });

      assert.deepEqual(checksAndPaths(failures), [['signature', SIGNATURE_PATH]]);
      assert.match(failures[0].message, /does not verify/);
    });
  });

  describe('when a byte of the signature changes', () => {
    it('returns a signature failure', async () => {
      const failures = await failuresAfter(async (dir) => {
        const jws = await readFile(join(dir, SIGNATURE_PATH), 'utf8');
        const [header, , signature] = jws.trimEnd().split('.');
        const bytes = base64url.decode(signature);
        bytes[10] ^= 0x01;
        await writeFile(join(dir, SIGNATURE_PATH), `${header}..${base64url.encode(bytes)}`);
      });

      assert.deepEqual(checksAndPaths(failures), [['signature', SIGNATURE_PATH]]);
    });
  });

  describe('when the signature file gains a byte after its line break', () => {
    it('returns a signature failure', async () => {
      const failures = await failuresAfter((dir) => appendFile(join(dir, SIGNATURE_PATH), ' '));

      assert.deepEqual(checksAndPaths(failures), [['signature', SIGNATURE_PATH]]);
    });
  });

  describe('when a listed file is removed', () => {
    it('returns a missing_file failure for that path', async () => {
      const path = 'sboms/pkg-a.cdx.json';
      const failures = await failuresAfter((dir) => rm(join(dir, path)));

      assert.deepEqual(checksAndPaths(failures), [['missing_file', path]]);
    });
  });

  describe('when a listed file is replaced by a symbolic link', () => {
    it('returns a missing_file failure naming the link', async () => {
      const path = 'vex/normalized.jsonl.zst';
      const failures = await failuresAfter(async (dir) => {
        await rm(join(dir, path));
        await symlink('/etc/hostname', join(dir, path));
      });

      assert.deepEqual(checksAndPaths(failures), [['missing_file', path]]);
      assert.match(failures[0].message, /symbolic link/);
    });
  });

  describe('when a file is added', () => {
    it('returns an unlisted_file failure for that path', async () => {
      const failures = await failuresAfter((dir) => writeFile(join(dir, 'vex/extra.json'), '{}'));

      assert.deepEqual(checksAndPaths(failures), [['unlisted_file', 'vex/extra.json']]);
    });
  });

  describe('when several things are wrong at once', () => {
    it('returns every failure, not only the first', async () => {
      const failures = await failuresAfter(async (dir) => {
        await rm(join(dir, 'sboms/pkg-a.cdx.json'));
        await writeFile(join(dir, 'added.bin'), 'x');
        await flipByte(join(dir, 'vex/normalized.jsonl.zst'));
      });

      assert.deepEqual(checksAndPaths(failures).sort(), [
        ['hash', 'vex/normalized.jsonl.zst'],
        ['missing_file', 'sboms/pkg-a.cdx.json'],
        ['unlisted_file', 'added.bin'],
      ]);
    });
  });

  describe('when the signature comes from another bundle', () => {
    it('returns a signature failure', async () => {
      const { signer } = await freshSigner();
      const bundleDir = await buildBundle(signer);
      const other = await buildBundle(signer);
      await editManifest(other, signer, (manifest) => {
        manifest.runId = 'run-0002';
      });
      await copyFile(join(other, SIGNATURE_PATH), join(bundleDir, SIGNATURE_PATH));

      const result = await verifyBundle({ bundleDir });

      assert.deepEqual(checksAndPaths(result.failures), [['signature', SIGNATURE_PATH]]);
    });
  });

  describe('when the trusted keys do not include the signing key', () => {
    it('returns a key failure naming the missing kid', async () => {
      const { signer } = await freshSigner();
      const stranger = await freshSigner();
      const bundleDir = await buildBundle(signer);

      const result = await verifyBundle({
        bundleDir,
        jwks: await publishedJwks({ keysDir: stranger.keysDir }),
      });

      assert.deepEqual(checksAndPaths(result.failures), [['key', SIGNATURE_PATH]]);
      assert.match(result.failures[0].message, new RegExp(`no key with kid ${signer.keyId}`));
    });
  });

  describe('when the embedded key set holds another key under the signer kid', () => {
    it('returns a signature failure', async () => {
      const { signer } = await freshSigner();
      const impostor = await freshSigner();
      const forged = { ...(await impostor.signer.publicJwk()), kid: signer.keyId };
      const bundleDir = await buildBundle(signer, { keys: [forged] });

      const result = await verifyBundle({ bundleDir });

      assert.deepEqual(checksAndPaths(result.failures), [['signature', SIGNATURE_PATH]]);
    });
  });

  describe('when the signing key was rotated out', () => {
    it('returns ok with a warning that the key is retired', async () => {
      const { keysDir, signer } = await freshSigner();
      const bundleDir = await buildBundle(signer);
      await rotateLocalKey({ keysDir });

      const result = await verifyBundle({ bundleDir, jwks: await publishedJwks({ keysDir }) });

      assert.equal(result.ok, true);
      assert.equal(result.keyId, signer.keyId);
      assert.deepEqual(result.warnings, [`key ${signer.keyId} is retired`]);
    });
  });

  describe('when the signing key is marked compromised', () => {
    it('returns a key failure that says so', async () => {
      const { keysDir, signer } = await freshSigner();
      const bundleDir = await buildBundle(signer);
      await markKeyCompromised({ keysDir, keyId: signer.keyId });

      const result = await verifyBundle({ bundleDir, jwks: await publishedJwks({ keysDir }) });

      assert.deepEqual(checksAndPaths(result.failures), [['key', SIGNATURE_PATH]]);
      assert.match(result.failures[0].message, /marked compromised/);
    });
  });

  describe('when the JWS header names a forbidden algorithm', () => {
    for (const alg of ['none', 'HS256']) {
      it(`returns a signature failure for alg ${alg}`, async () => {
        const failures = await failuresAfter(async (dir, signer) => {
          const header = base64url.encode(JSON.stringify({ alg, kid: signer.keyId }));
          await writeFile(join(dir, SIGNATURE_PATH), `${header}..${base64url.encode('sig')}`);
        });

        assert.deepEqual(checksAndPaths(failures), [['signature', SIGNATURE_PATH]]);
        assert.match(failures[0].message, /is not allowed/);
      });
    }
  });

  describe('when a manifest path escapes the bundle', () => {
    for (const path of ['../outside.json', '/etc/passwd', 'vex/../../x']) {
      it(`returns a manifest failure for ${path}`, async () => {
        const failures = await failuresAfter((dir, signer) =>
          editManifest(dir, signer, (manifest) => {
            manifest.files.push({ path, sha256: '0'.repeat(64), size: 1, mediaType: 'x' });
          }),
        );

        assert.deepEqual(checksAndPaths(failures), [['manifest', path]]);
      });
    }
  });

  describe('when a manifest entry is malformed or repeated', () => {
    it('returns a manifest failure for each such entry', async () => {
      const failures = await failuresAfter((dir, signer) =>
        editManifest(dir, signer, (manifest) => {
          manifest.files[0].sha256 = manifest.files[0].sha256.toUpperCase();
          manifest.files.push({ ...manifest.files[1] });
        }),
      );

      assert.deepEqual(checksAndPaths(failures), [
        ['manifest', 'advisories/normalized.jsonl.zst'],
        ['manifest', 'vex/normalized.jsonl.zst'],
      ]);
      assert.match(failures[1].message, /listed twice/);
    });
  });

  describe('when a listed file is larger than the stream buffers', () => {
    it('returns a hash failure when one byte deep inside it changes', async () => {
      const { signer } = await freshSigner();
      const bundleDir = await buildBundle(signer, undefined, {
        'big/blob.bin': 'x'.repeat(3 * 1024 * 1024 + 7),
      });
      assert.equal((await verifyBundle({ bundleDir })).ok, true);

      await flipByte(join(bundleDir, 'big/blob.bin'), 2 * 1024 * 1024);

      const result = await verifyBundle({ bundleDir });
      assert.deepEqual(checksAndPaths(result.failures), [['hash', 'big/blob.bin']]);
    });
  });

  describe('when provenance subjects differ from the manifest', () => {
    it('returns a provenance failure for each file it leaves out', async () => {
      const failures = await failuresAfter(async (dir, signer) => {
        const manifestFiles = JSON.parse(await readFile(join(dir, 'export.json'), 'utf8')).files;
        const statement = statementFor(manifestFiles.slice(1, 3));
        await writeFile(join(dir, PROVENANCE_PATH), statement);
        await editManifest(dir, signer, (manifest) => {
          const entry = manifest.files.find((file) => file.path === PROVENANCE_PATH)!;
          entry.sha256 = createHash('sha256').update(statement).digest('hex');
          entry.size = Buffer.byteLength(statement);
        });
      });

      assert.deepEqual(checksAndPaths(failures), [
        ['provenance', 'advisories/normalized.jsonl.zst'],
      ]);
    });
  });

  describe('when export.json is missing', () => {
    it('returns a manifest failure', async () => {
      const failures = await failuresAfter((dir) => rm(join(dir, 'export.json')));

      assert.deepEqual(checksAndPaths(failures), [['manifest', 'export.json']]);
    });
  });

  describe('when export.json lists a detached signature over one file', () => {
    const signed = 'sboms/pkg-a.cdx.json';
    const signaturePath = 'signatures/pkg-a.sig';

    async function bundleWithDetachedSignature(signer: Signer): Promise<string> {
      const bundleDir = await buildBundle(signer);
      const bytes = await readFile(join(bundleDir, signed));
      await writeFile(join(bundleDir, signaturePath), `${await signer.signDetached(bytes)}\n`);
      await editManifest(bundleDir, signer, (manifest) => {
        manifest.detachedSignatures = [{ file: signed, signature: signaturePath }];
      });

      return bundleDir;
    }

    it('returns ok when the signature matches the file', async () => {
      const { signer } = await freshSigner();

      const result = await verifyBundle({ bundleDir: await bundleWithDetachedSignature(signer) });

      assert.deepEqual(result.failures, []);
    });

    it('returns a signature failure naming the signature when a byte of it changes', async () => {
      const { signer } = await freshSigner();
      const bundleDir = await bundleWithDetachedSignature(signer);
      const jws = await readFile(join(bundleDir, signaturePath), 'utf8');
      const last = jws.trimEnd().length - 2;
      const flipped = jws.slice(0, last) + (jws[last] === 'A' ? 'B' : 'A') + jws.slice(last + 1);
      await writeFile(join(bundleDir, signaturePath), flipped);

      const result = await verifyBundle({ bundleDir });

      assert.deepEqual(checksAndPaths(result.failures), [['signature', signaturePath]]);
    });

    it('returns a signature failure when the signature file is removed', async () => {
      const { signer } = await freshSigner();
      const bundleDir = await bundleWithDetachedSignature(signer);
      await rm(join(bundleDir, signaturePath));

      const result = await verifyBundle({ bundleDir });

      assert.deepEqual(checksAndPaths(result.failures), [['signature', signaturePath]]);
    });

    it('returns a manifest failure when the listed path escapes the bundle', async () => {
      const { signer } = await freshSigner();
      const bundleDir = await bundleWithDetachedSignature(signer);
      await editManifest(bundleDir, signer, (manifest) => {
        manifest.detachedSignatures = [{ file: '../outside.json', signature: signaturePath }];
      });

      const result = await verifyBundle({ bundleDir });

      assert.deepEqual(checksAndPaths(result.failures), [['manifest', 'export.json']]);
    });
  });
});
