import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { NormalizedVexStatement } from '../../../domain/records.js';
import { parseDocument } from '../../../ingest/parse-document.js';
import { parseEvidence, utf8 } from './fixture-files.js';

// Expected values below were read by hand from the fixture files.

describe('ingest', () => {
  describe('parseDocument', () => {
    describe('when given the Trivy OpenVEX document', () => {
      it('returns its 21 not_affected statements in document order', async () => {
        const parsed = await parseEvidence('vex/openvex/trivy.openvex.json');
        assert.equal(parsed.format, 'openvex');
        assert.equal(parsed.vexStatements.length, 21);
        assert.ok(parsed.vexStatements.every((s) => s.status === 'not_affected'));
        assert.equal(parsed.vexStatements[0].vulnerability, 'GO-2024-2575');
        assert.equal(parsed.vexStatements[20].vulnerability, 'GO-2025-4192');
      });

      it('returns product, subcomponent, aliases and the UTC document time', async () => {
        const parsed = await parseEvidence('vex/openvex/trivy.openvex.json');
        assert.deepEqual(parsed.vexStatements[6], {
          vulnerability: 'GO-2023-2102',
          aliases: ['CVE-2023-39325', 'GHSA-4374-p667-p6c8'],
          product: 'pkg:golang/github.com/aquasecurity/trivy',
          subcomponents: ['pkg:golang/golang.org/x/net'],
          status: 'not_affected',
          justification: 'vulnerable_code_not_in_execute_path',
          impactStatement: "Govulncheck determined that the vulnerable code isn't called",
          issuer: 'Aqua Security',
          timestamp: '2024-07-09T07:38:00.115697Z',
        });
      });
    });

    describe('when an OpenVEX statement names several products', () => {
      it('returns one statement per product with the statement time in UTC', async () => {
        const parsed = await parseEvidence('vex/openvex/demo.vex.json');
        const utc = '2023-12-05T03:55:19.945015302Z';
        assert.deepEqual(
          parsed.vexStatements.map((s) => [s.product, s.status, s.timestamp]),
          [
            ['pkg:apk/distro/git@2.39.0-r1?arch=armv7', 'fixed', utc],
            ['pkg:apk/distro/git@2.39.0-r1?arch=x86_64', 'fixed', utc],
          ],
        );
      });

      it('returns canonical purls for OCI products', async () => {
        const parsed = await parseEvidence('vex/openvex/oci.openvex.json');
        assert.equal(parsed.vexStatements.length, 21);
        assert.deepEqual(parsed.vexStatements.slice(0, 3).map((s) => s.product), [
          'pkg:oci/trivy?repository_url=index.docker.io%2Faquasec%2Ftrivy',
          'pkg:oci/trivy?repository_url=public.ecr.aws%2Faquasecurity%2Ftrivy',
          'pkg:oci/trivy?repository_url=ghcr.io%2Faquasecurity%2Ftrivy',
        ]);
      });
    });

    describe('when an OpenVEX 0.0.x statement uses plain strings', () => {
      it('returns one statement per product string', () => {
        const doc = {
          '@context': 'https://openvex.dev/ns',
          author: 'Demo',
          timestamp: '2023-01-08T18:02:03.647787998-06:00',
          statements: [
            {
              vulnerability: 'CVE-2023-12345',
              products: ['pkg:apk/wolfi/git@2.39.0-r1?arch=armv7', 'urn:example:product'],
              subcomponents: ['pkg:apk/wolfi/zlib@1.2.13'],
              status: 'under_investigation',
            },
          ],
        };
        const parsed = parseDocument(utf8(JSON.stringify(doc)), 'old.json');
        assert.deepEqual(parsed.vexStatements[1], {
          vulnerability: 'CVE-2023-12345',
          aliases: [],
          product: 'urn:example:product',
          subcomponents: ['pkg:apk/wolfi/zlib@1.2.13'],
          status: 'under_investigation',
          issuer: 'Demo',
          timestamp: '2023-01-09T00:02:03.647787998Z',
        });
      });
    });

    describe('when given the Secvisogram CSAF VEX document', () => {
      it('returns one not_affected statement per CVE with flag and threat text', async () => {
        const parsed = await parseEvidence('vex/csaf/sec-vex-2022-0001.json');
        assert.equal(parsed.format, 'csaf-vex');
        assert.deepEqual(
          parsed.vexStatements.map((s) => s.vulnerability),
          ['CVE-2021-44228', 'CVE-2021-45046', 'CVE-2021-45105'],
        );
        assert.deepEqual(parsed.vexStatements[0], {
          vulnerability: 'CVE-2021-44228',
          aliases: [],
          product: 'CSAFPID-0001',
          subcomponents: [],
          status: 'not_affected',
          justification: 'component_not_present',
          impactStatement: 'Secvisogram is written in JavaScript. No Java is included.',
          issuer: 'Secvisogram',
          timestamp: '2022-05-27T10:00:00.000Z',
        });
      });
    });

    describe('when a CSAF product is known_affected with a remediation', () => {
      it('returns an affected statement whose action is the remediation', async () => {
        const parsed = await parseEvidence('vex/csaf/2022-evd-uc-01-a-001.json');
        assert.equal(parsed.vexStatements.length, 1);
        const [statement] = parsed.vexStatements;
        assert.equal(statement.status, 'affected');
        assert.equal(
          statement.actionStatement,
          'Customers should update to version 1.1 of product DEF which fixes the issue.',
        );
        assert.equal(statement.issuer, 'Example Company ProductCERT');
      });
    });

    describe('when a CSAF product has a purl helper', () => {
      it('returns the purl as the product, through product groups too', () => {
        const parsed = parseDocument(utf8(JSON.stringify(csafWithPurl())), 'csaf.json');
        assert.deepEqual(
          parsed.vexStatements.map(summaryOf),
          [
            ['CVE-2099-0001', 'pkg:npm/demo@1.0.0', 'under_investigation', undefined],
            ['CVE-2099-0001', 'CSAFPID-2', 'fixed', undefined],
            ['CVE-2099-0001', 'pkg:npm/demo@1.0.0', 'not_affected', 'component_not_present'],
          ],
        );
        assert.deepEqual(parsed.vexStatements[0].aliases, ['GHSA-xxxx-yyyy-zzzz']);
      });
    });

    describe('when given a CycloneDX VEX with three analyses', () => {
      it('returns the mapped states for the acme-product ref', async () => {
        const parsed = await parseEvidence('vex/cyclonedx/Use-Cases/Case-12/vex.json');
        assert.equal(parsed.format, 'cyclonedx-vex');
        assert.deepEqual(parsed.sboms, []);
        assert.deepEqual(
          parsed.vexStatements.map(summaryOf),
          [
            ['CVE-2020-25649', 'acme-product', 'not_affected', 'code_not_reachable'],
            ['CVE-2020-35491', 'acme-product', 'affected', undefined],
            [
              'CVE-2020-14195',
              'acme-product',
              'not_affected',
              'protected_by_mitigating_control',
            ],
          ],
        );
        assert.equal(parsed.vexStatements[1].actionStatement, 'will_not_fix, update');
        assert.equal(parsed.vexStatements[1].timestamp, '2022-01-13T00:00:00Z');
      });
    });

    describe('when a CycloneDX BOM has both components and analyses', () => {
      it('returns the SBOM and the statements, refs resolved to purls', async () => {
        const parsed = await parseEvidence(
          'sboms/cyclonedx/cyclonedx-spec-tests/valid-vulnerability-1.6.json',
        );
        assert.equal(parsed.format, 'cyclonedx-vex');
        assert.equal(parsed.sboms.length, 1);
        assert.equal(parsed.sboms[0].components.length, 1);
        assert.deepEqual(parsed.vexStatements, [
          {
            vulnerability: 'SNYK-JAVA-COMFASTERXMLJACKSONCORE-32111',
            aliases: ['CVE-2018-7489'],
            product: 'pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.4',
            subcomponents: [],
            status: 'not_affected',
            justification: 'code_not_reachable',
            impactStatement:
              'An optional explanation of why the application is not affected by the ' +
              'vulnerable component.',
            actionStatement:
              'Upgrade com.fasterxml.jackson.core:jackson-databind to version 2.6.7.5, ' +
              '2.8.11.1, 2.9.5 or higher.',
            timestamp: '2022-02-01T00:00:00.000Z',
            versions: [
              { range: 'vers:semver/<2.6.7.5', status: 'affected' },
              { range: 'vers:semver/2.7.0|<2.8.11.1', status: 'affected' },
              { range: 'vers:semver/2.9.0|<2.9.5', status: 'affected' },
            ],
          },
        ]);
      });
    });

    describe('when a CycloneDX ref is a BOM-Link into another BOM', () => {
      it('returns the link as written', async () => {
        const parsed = await parseEvidence('vex/cyclonedx/CISA-Use-Cases/Case-7/vex.json');
        assert.deepEqual(
          parsed.vexStatements.map((s) => [s.product, s.status]),
          [
            ['urn:cdx:cbb2cd68-2857-43b8-a10b-e8c03d277d18/1#product-ABC', 'affected'],
            ['urn:cdx:e4c3eedc-4978-470c-ad02-6ffff63738ff/1#product-JKL', 'affected'],
            ['urn:cdx:cbb2cd68-2857-43b8-a10b-e8c03d277d18/1#product-ABC', 'not_affected'],
            ['urn:cdx:e4c3eedc-4978-470c-ad02-6ffff63738ff/1#product-JKL', 'not_affected'],
            ['urn:cdx:e4c3eedc-4978-470c-ad02-6ffff63738ff/1#product-JKL', 'fixed'],
          ],
        );
      });
    });

    describe('when CycloneDX affects carry per-version states (CISA Case-7)', () => {
      it('returns each entry with its status, affected where the document leaves it out', async () => {
        const parsed = await parseEvidence('vex/cyclonedx/CISA-Use-Cases/Case-7/vex.json');
        const versions = (parsed.vexStatements as NormalizedVexStatement[]).map((s) => s.versions);

        assert.deepEqual(versions, [
          [
            { version: '2.4', status: 'affected' },
            { version: '2.6', status: 'affected' },
            { range: 'vers:generic/>=2.9|<=4.1', status: 'affected' },
          ],
          [{ range: 'vers:generic/>=4.5|<=5.0', status: 'affected' }],
          [
            { range: 'vers:generic/>=1.0|<=2.3', status: 'unaffected' },
            { version: '2.5', status: 'unaffected' },
            { range: 'vers:generic/>=2.7|<=2.8', status: 'unaffected' },
            { version: '4.2', status: 'unaffected' },
          ],
          [{ range: 'vers:generic/>=1.0|<=4.4', status: 'unaffected' }],
          [{ version: '5.1', status: 'affected' }],
        ]);
      });
    });

    describe('when a CycloneDX version entry is malformed', () => {
      const bomWith = (entry: object) => ({
        bomFormat: 'CycloneDX',
        specVersion: '1.5',
        vulnerabilities: [
          {
            id: 'CVE-2099-0003',
            analysis: { state: 'exploitable' },
            affects: [{ ref: 'pkg:npm/a', versions: [entry] }],
          },
        ],
      });
      const parse = (entry: object) =>
        parseDocument(utf8(JSON.stringify(bomWith(entry))), 'vex.json');

      it('throws malformed_document for an entry with both a version and a range', () => {
        assert.throws(() => parse({ version: '1.0.0', range: 'vers:npm/<2.0.0' }), {
          code: 'malformed_document',
          message: /versions\[0\] must name exactly one of version and range/,
        });
      });

      it('throws malformed_document for a status CycloneDX does not define', () => {
        assert.throws(() => parse({ version: '1.0.0', status: 'vulnerable' }), {
          code: 'malformed_document',
          message: /versions\[0\]\.status is unknown: "vulnerable"/,
        });
      });
    });

    describe('when a CycloneDX BOM-Link points into the same BOM', () => {
      it('returns the purl of the linked component', () => {
        const bom = {
          bomFormat: 'CycloneDX',
          specVersion: '1.5',
          serialNumber: 'urn:uuid:11111111-2222-3333-4444-555555555555',
          components: [{ 'bom-ref': 'lib a', name: 'a', purl: 'pkg:npm/a@1.0.0' }],
          vulnerabilities: [
            {
              id: 'CVE-2099-0002',
              analysis: { state: 'in_triage' },
              affects: [{ ref: 'urn:cdx:11111111-2222-3333-4444-555555555555/1#lib%20a' }],
            },
          ],
        };
        const parsed = parseDocument(utf8(JSON.stringify(bom)), 'bom.json');
        assert.equal(parsed.vexStatements[0].product, 'pkg:npm/a@1.0.0');
        assert.equal(parsed.vexStatements[0].status, 'under_investigation');
      });
    });
  });
});

function summaryOf(statement: NormalizedVexStatement) {
  return [statement.vulnerability, statement.product, statement.status, statement.justification];
}

function csafWithPurl() {
  return {
    document: {
      category: 'csaf_vex',
      csaf_version: '2.0',
      publisher: { name: 'Demo PSIRT' },
      tracking: { current_release_date: '2024-02-01T10:00:00+01:00' },
    },
    product_tree: {
      full_product_names: [
        {
          name: 'demo 1.0.0',
          product_id: 'CSAFPID-1',
          product_identification_helper: { purl: 'pkg:npm/demo@1.0.0' },
        },
        { name: 'demo 1.1.0', product_id: 'CSAFPID-2' },
      ],
      product_groups: [{ group_id: 'GRP-1', product_ids: ['CSAFPID-1'] }],
    },
    vulnerabilities: [
      {
        cve: 'CVE-2099-0001',
        ids: [{ system_name: 'GitHub', text: 'GHSA-xxxx-yyyy-zzzz' }],
        product_status: {
          under_investigation: ['CSAFPID-1'],
          fixed: ['CSAFPID-2'],
          recommended: ['CSAFPID-2'],
        },
      },
      {
        cve: 'CVE-2099-0001',
        product_status: { known_not_affected: ['CSAFPID-1'] },
        flags: [{ label: 'component_not_present', group_ids: ['GRP-1'] }],
      },
    ],
  };
}
