import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { removeQuietly } from '../../../bundle/files.js';
import {
  OCI_INDEX_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
} from '../../../distribution/oci/artifact.js';
import { artifactFromLayout } from '../../../distribution/oci/layout-artifact.js';
import { StellaError } from '../../../domain/errors.js';

const REF_NAME = 'org.opencontainers.image.ref.name';

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

// A hand-made layout: one index with two manifests that share the empty config.
async function writeLayout(dir: string, options: { tamper?: boolean } = {}) {
  const blobs = path.join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (bytes: Buffer) => {
    const digest = digestOf(bytes);
    const stored = options.tamper && bytes.includes('"layers"') ? Buffer.from('{}') : bytes;
    await writeFile(path.join(blobs, digest.slice(7)), stored);

    return { digest, size: bytes.length };
  };
  const config = await put(Buffer.from('{}'));
  const layerA = await put(Buffer.from('a'));
  const layerB = await put(Buffer.from('b'));
  const manifest = (layer: { digest: string; size: number }) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST_MEDIA_TYPE,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', ...config },
        layers: [{ mediaType: 'text/plain', ...layer }],
      }),
    );
  const children = [await put(manifest(layerA)), await put(manifest(layerB))];
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX_MEDIA_TYPE,
      manifests: children.map((child) => ({ mediaType: OCI_MANIFEST_MEDIA_TYPE, ...child })),
    }),
  );
  const root = await put(index);
  await writeFile(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: OCI_INDEX_MEDIA_TYPE, ...root, annotations: { [REF_NAME]: 'v1' } }],
    }),
  );

  return { root, children, layers: [layerA, layerB] };
}

describe('artifactFromLayout', () => {
  let scratch: string;

  before(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'stella-layout-artifact-'));
  });

  after(async () => {
    await removeQuietly(scratch);
  });

  describe('when the tag names an image index', () => {
    it('returns the index, its manifests as children and their blobs as layout files', async () => {
      const dir = path.join(scratch, 'good');
      const written = await writeLayout(dir);
      const artifact = await artifactFromLayout(dir, 'v1');

      assert.equal(artifact.mediaType, OCI_INDEX_MEDIA_TYPE);
      assert.equal(artifact.manifestDigest, written.root.digest);
      assert.deepEqual(
        artifact.children?.map((child) => child.manifestDigest),
        written.children.map((child) => child.digest),
      );
      const layer = artifact.children![1].blobs[1];
      assert.equal(layer.digest, written.layers[1].digest);
      assert.equal(layer.file, path.join(dir, 'blobs', 'sha256', layer.digest.slice(7)));
    });
  });

  describe('when the tag is not in the layout', () => {
    it('throws not_found', async () => {
      const dir = path.join(scratch, 'untagged');
      await writeLayout(dir);

      await assert.rejects(artifactFromLayout(dir, 'v2'), (err: unknown) => {
        assert.ok(err instanceof StellaError);
        assert.equal(err.code, 'not_found');

        return true;
      });
    });
  });

  describe('when a manifest blob does not match its digest', () => {
    it('throws integrity_failed', async () => {
      const dir = path.join(scratch, 'tampered');
      await writeLayout(dir, { tamper: true });

      await assert.rejects(artifactFromLayout(dir, 'v1'), (err: unknown) => {
        assert.ok(err instanceof StellaError);
        assert.equal(err.code, 'integrity_failed');

        return true;
      });
    });
  });
});
