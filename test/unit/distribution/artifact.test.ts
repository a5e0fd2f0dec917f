import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  BUNDLE_MEDIA_TYPES,
  packageBundleArtifact,
  packageTrivyArtifact,
  sha256Digest,
} from '../../../distribution/oci/artifact.js';

const archive = { file: '/nonexistent/archive', sha256: 'ab'.repeat(32), size: 1234 };

describe('OCI artifact packaging', () => {
  describe('packageTrivyArtifact', () => {
    describe('for trivy:db', () => {
      const artifact = packageTrivyArtifact({
        kind: 'trivy:db',
        created: '2026-09-01T00:00:00Z',
        archive,
      });
      const manifest = JSON.parse(artifact.manifest.toString('utf8'));

      it('returns the single layer Trivy accepts: its media type and the db.tar.gz title', () => {
        assert.deepEqual(manifest.layers, [
          {
            mediaType: 'application/vnd.aquasec.trivy.db.layer.v1.tar+gzip',
            digest: `sha256:${archive.sha256}`,
            size: 1234,
            annotations: { 'org.opencontainers.image.title': 'db.tar.gz' },
          },
        ]);
      });

      it('returns the empty {} config, the Trivy artifact type and tag 2', () => {
        assert.equal(manifest.artifactType, 'application/vnd.aquasec.trivy.config.v1+json');
        assert.deepEqual(manifest.config, {
          mediaType: 'application/vnd.oci.empty.v1+json',
          digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
          size: 2,
        });
        assert.equal(artifact.tag, '2');
      });

      it('returns the manifest digest as the sha256 of its bytes', () => {
        const hex = createHash('sha256').update(artifact.manifest).digest('hex');

        assert.equal(artifact.manifestDigest, `sha256:${hex}`);
      });
    });

    describe('for trivy:java-db', () => {
      it('returns the Java DB layer type, the javadb.tar.gz title and tag 1', () => {
        const artifact = packageTrivyArtifact({
          kind: 'trivy:java-db',
          created: '2026-09-01T00:00:00Z',
          archive,
        });
        const layer = JSON.parse(artifact.manifest.toString('utf8')).layers[0];

        assert.equal(layer.mediaType, 'application/vnd.aquasec.trivy.javadb.layer.v1.tar+gzip');
        assert.equal(layer.annotations['org.opencontainers.image.title'], 'javadb.tar.gz');
        assert.equal(artifact.tag, '1');
      });
    });
  });

  describe('packageBundleArtifact', () => {
    const input = {
      runId: 'run_default_x',
      profileKind: 'json:raw',
      created: '2026-09-01T00:00:00Z',
      archive: { ...archive, name: 'run_default_x.tar.zst' },
      exportManifest: Buffer.from('{"schema":"stella.export-manifest/v1"}\n'),
    };

    describe('without profile overrides', () => {
      it('returns export.json as the config and the archive as the one layer', () => {
        const artifact = packageBundleArtifact(input);
        const manifest = JSON.parse(artifact.manifest.toString('utf8'));

        assert.equal(manifest.artifactType, BUNDLE_MEDIA_TYPES.artifactType);
        assert.equal(manifest.config.digest, sha256Digest(input.exportManifest));
        assert.equal(manifest.layers[0].mediaType, BUNDLE_MEDIA_TYPES.layer);
        assert.equal(manifest.annotations['io.stella.export.run-id'], 'run_default_x');
        assert.equal(artifact.tag, 'run_default_x');
        assert.deepEqual(artifact.blobs[0].bytes, input.exportManifest);
      });
    });

    describe('with the profile media types and annotations', () => {
      it('returns them in the manifest', () => {
        const artifact = packageBundleArtifact({
          ...input,
          media: {
            artifactType: 'application/vnd.acme.evidence.v1',
            layerMediaType: 'application/vnd.acme.layer',
            annotations: { 'com.acme.team': 'sec' },
          },
        });
        const manifest = JSON.parse(artifact.manifest.toString('utf8'));

        assert.equal(manifest.artifactType, 'application/vnd.acme.evidence.v1');
        assert.equal(manifest.layers[0].mediaType, 'application/vnd.acme.layer');
        assert.equal(manifest.annotations['com.acme.team'], 'sec');
      });
    });

    describe('when packaged twice from the same input', () => {
      it('returns identical manifest bytes', () => {
        assert.deepEqual(
          packageBundleArtifact(input).manifest,
          packageBundleArtifact(input).manifest,
        );
      });
    });
  });
});
