import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseDocument } from '../../../ingest/parse-document.js';
import { parseEvidence, utf8 } from './fixture-files.js';

// Expected values below were read by hand from the fixture files.

describe('ingest', () => {
  describe('parseDocument', () => {
    describe('when given the ACME SPDX 2.3 document', () => {
      it('returns its packages in order with the elliptic purl', async () => {
        const parsed = await parseEvidence('sboms/spdx/ACME-v2.3.spdx.json');
        assert.equal(parsed.format, 'spdx');
        assert.equal(parsed.mediaType, 'application/spdx+json');
        const [sbom] = parsed.sboms;
        assert.equal(sbom.specVersion, '2.3');
        assert.equal(sbom.subject, 'ACME SBOM');
        assert.equal(sbom.subjectVersion, '2.3');
        assert.equal(sbom.created, '2023-10-08T18:30:22Z');
        assert.equal(sbom.components.length, 4);
        assert.deepEqual(sbom.components[1], {
          purl: 'pkg:npm/elliptic@6.5.2',
          name: 'elliptic',
          version: '6.5.2',
          hashes: [],
        });
        assert.equal(sbom.components[0].type, 'application');
      });
    });

    describe('when SPDX checksums use SPDX algorithm names', () => {
      it('returns them in CycloneDX spelling', async () => {
        const parsed = await parseEvidence('sboms/spdx/04-SBOMwSecurity.json');
        assert.deepEqual(parsed.sboms[0].components[1], {
          purl: 'pkg:maven/org.webjars.npm/xlsx@0.16.6',
          name: 'xlsx',
          version: '0.16.6',
          hashes: [{ alg: 'SHA-1', content: '8f2715fa4ea3619b08615aa8f57828a80e6eb703' }],
        });
      });
    });

    describe('when given the proton-bridge CycloneDX 1.2 BOM', () => {
      it('returns subject, UTC creation time and components in order', async () => {
        const path = 'sboms/cyclonedx/proton-bridge/proton-bridge-v1.8.0.bom.json';
        const parsed = await parseEvidence(path);
        assert.equal(parsed.format, 'cyclonedx-sbom');
        assert.deepEqual(parsed.vexStatements, []);
        const [sbom] = parsed.sboms;
        assert.equal(sbom.format, 'cyclonedx');
        assert.equal(sbom.specVersion, '1.2');
        assert.equal(sbom.subject, 'github.com/ProtonMail/proton-bridge');
        assert.equal(sbom.subjectVersion, 'v1.8.0');
        assert.equal(sbom.created, '2021-05-16T15:10:53Z');
        assert.equal(sbom.components.length, 201);
        assert.deepEqual(sbom.components[0], {
          purl: 'pkg:golang/github.com/0xAX/notificator@v0.0.0-20191016112426-3962a5ea8da1',
          name: 'github.com/0xAX/notificator',
          version: 'v0.0.0-20191016112426-3962a5ea8da1',
          type: 'library',
          hashes: [
            {
              alg: 'SHA-256',
              content: '8fd1da69f6a90db3db1910e4bba7bf1d1b3a28131c287896726d7ff526f19e5e',
            },
          ],
        });
      });
    });

    describe('when a CycloneDX BOM has no metadata component', () => {
      it('returns the serial number as the subject', async () => {
        const parsed = await parseEvidence(
          'sboms/cyclonedx/cyclonedx-spec-tests/valid-vulnerability-1.6.json',
        );
        assert.equal(parsed.sboms[0].subject, 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79');
      });

      it('returns the file name when there is no serial number either', () => {
        const bom = { bomFormat: 'CycloneDX', specVersion: '1.4', components: [] };
        const uri = 'file:///tmp/scans/app.cdx.json';
        const parsed = parseDocument(utf8(JSON.stringify(bom)), uri);
        assert.equal(parsed.sboms[0].subject, 'app.cdx.json');
      });
    });

    describe('when the CycloneDX subject is a container', () => {
      it('returns the image digest, repository and tag from its oci purl', () => {
        const digest = `sha256:${'ab'.repeat(32)}`;
        const qualifiers = 'repository_url=docker.io/library/alpine&tag=3.19';
        const bom = {
          bomFormat: 'CycloneDX',
          specVersion: '1.5',
          metadata: {
            component: {
              type: 'container',
              name: 'alpine',
              purl: `pkg:oci/alpine@${encodeURIComponent(digest)}?${qualifiers}`,
            },
          },
          components: [{ name: 'musl', version: '1.2.4', purl: 'pkg:apk/alpine/musl@1.2.4' }],
        };
        const [sbom] = parseDocument(utf8(JSON.stringify(bom)), 'image.json').sboms;
        assert.equal(sbom.imageDigest, digest);
        assert.equal(sbom.repository, 'docker.io/library/alpine');
        assert.equal(sbom.tag, '3.19');
        assert.equal(sbom.components[0].purl, 'pkg:apk/alpine/musl@1.2.4');
      });
    });

    describe('when the SPDX described package is a container', () => {
      it('returns the image digest and repository from its oci purl', () => {
        const digest = `sha256:${'cd'.repeat(32)}`;
        const doc = {
          spdxVersion: 'SPDX-2.3',
          SPDXID: 'SPDXRef-DOCUMENT',
          name: 'registry.example/app',
          documentDescribes: ['SPDXRef-image'],
          packages: [
            {
              SPDXID: 'SPDXRef-image',
              name: 'app',
              versionInfo: digest,
              primaryPackagePurpose: 'CONTAINER',
              externalRefs: [
                {
                  referenceCategory: 'PACKAGE-MANAGER',
                  referenceType: 'purl',
                  referenceLocator: `pkg:oci/app@${digest}?repository_url=registry.example/app`,
                },
              ],
            },
          ],
        };
        const [sbom] = parseDocument(utf8(JSON.stringify(doc)), 'app.spdx.json').sboms;
        assert.equal(sbom.imageDigest, digest);
        assert.equal(sbom.repository, 'registry.example/app');
        assert.equal(sbom.tag, undefined);
        assert.equal(sbom.components[0].type, 'container');
      });
    });
  });
});
