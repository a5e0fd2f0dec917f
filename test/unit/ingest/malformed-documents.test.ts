import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { StellaError } from '../../../domain/errors.js';
import { parseDocument } from '../../../ingest/parse-document.js';
import { editedEvidence, readEvidence, utf8 } from './fixture-files.js';

const GHSA = 'advisories/osv/ghsa/Maven/GHSA-jfh8-c2jp-5v3q.json';

function assertRejects(bytes: Uint8Array, sourceUri: string, code: string, message: RegExp) {
  assert.throws(
    () => parseDocument(bytes, sourceUri),
    (err: unknown) => {
      assert.ok(err instanceof StellaError);
      assert.equal(err.code, code);
      assert.match(err.message, message);
      assert.deepEqual(err.details, { sourceUri });

      return true;
    },
  );
}

describe('ingest', () => {
  describe('parseDocument', () => {
    describe('when the JSON is truncated', () => {
      it('throws malformed_document', async () => {
        const bytes = await readEvidence(GHSA);
        const truncated = bytes.subarray(0, 700);
        assertRejects(truncated, 'ghsa.json', 'malformed_document', /not valid JSON/);
      });
    });

    describe('when an OSV advisory has no id', () => {
      it('throws malformed_document saying so', async () => {
        const bytes = await editedEvidence(GHSA, (doc) => delete doc.id);
        assertRejects(bytes, 'ghsa.json', 'malformed_document', /^OSV advisory has no id$/);
      });
    });

    describe('when a timestamp cannot be parsed', () => {
      it('throws malformed_document naming the field', async () => {
        const bytes = await editedEvidence(GHSA, (doc) => {
          doc.published = '2021-13-10T00:40:56Z';
        });
        assertRejects(bytes, 'ghsa.json', 'malformed_document', /published is not an RFC 3339/);
      });
    });

    describe('when an OpenVEX statement has a bad timestamp', () => {
      it('throws malformed_document naming the statement', async () => {
        const bytes = await editedEvidence('vex/openvex/demo.vex.json', (doc) => {
          (doc.statements as Record<string, unknown>[])[0].timestamp = 'yesterday';
        });
        assertRejects(bytes, 'demo.json', 'malformed_document', /statements\[0\]\.timestamp/);
      });
    });

    describe('when a purl is invalid', () => {
      it('throws malformed_document naming the purl', async () => {
        const yaml = new TextDecoder()
          .decode(await readEvidence('advisories/osv-yaml/pypi/django/PYSEC-2021-98.yaml'))
          .replace('purl: pkg:pypi/django', 'purl: pkg:pypi');
        const message = /not a valid purl: "pkg:pypi"/;
        assertRejects(utf8(yaml), 'x.yaml', 'malformed_document', message);
      });
    });

    describe('when an SBOM component purl is invalid', () => {
      it('throws malformed_document naming the component', async () => {
        const bytes = await editedEvidence('sboms/spdx/ACME-v2.3.spdx.json', (doc) => {
          type Package = { externalRefs: { referenceLocator: string }[] };
          const [, elliptic] = doc.packages as Package[];
          elliptic.externalRefs[0].referenceLocator = 'npm/elliptic@6.5.2';
        });
        assertRejects(bytes, 'acme.json', 'malformed_document', /packages\[1\].*npm\/elliptic/);
      });
    });

    describe('when the document nests deeper than 64 levels', () => {
      it('throws malformed_document naming the depth limit', () => {
        const deep = `${'['.repeat(64)}${']'.repeat(64)}`;
        const doc = `{"id":"OSV-1","modified":"2024-01-01T00:00:00Z","x":${deep}}`;
        assertRejects(utf8(doc), 'deep.json', 'malformed_document', /64-level limit/);
      });

      it('throws malformed_document for YAML flow nesting too', () => {
        const yaml = `id: PYSEC-0000-1\nx: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
        assertRejects(utf8(yaml), 'deep.yaml', 'malformed_document', /64-level limit/);
      });

      it('accepts a document exactly 64 levels deep', () => {
        const deep = `${'['.repeat(63)}${']'.repeat(63)}`;
        const doc = `{"id":"OSV-1","modified":"2024-01-01T00:00:00Z","x":${deep}}`;
        assert.equal(parseDocument(utf8(doc), 'deep.json').advisories[0].id, 'OSV-1');
      });
    });

    describe('when the document is over 32 MiB', () => {
      it('throws malformed_document naming the size limit', () => {
        const bytes = new Uint8Array(32 * 1024 * 1024 + 1).fill(0x20);
        assertRejects(bytes, 'big.json', 'malformed_document', /32 MiB size limit/);
      });
    });

    describe('when a VEX status is unknown', () => {
      it('throws malformed_document for OpenVEX', async () => {
        const bytes = await editedEvidence('vex/openvex/demo.vex.json', (doc) => {
          (doc.statements as Record<string, unknown>[])[0].status = 'maybe';
        });
        assertRejects(bytes, 'demo.json', 'malformed_document', /unknown VEX status "maybe"/);
      });

      it('throws malformed_document for a CycloneDX analysis state', async () => {
        const bytes = await editedEvidence('vex/cyclonedx/vex.json', (doc) => {
          (doc.vulnerabilities as { analysis: { state: string } }[])[0].analysis.state = 'fine';
        });
        assertRejects(bytes, 'vex.json', 'malformed_document', /analysis\.state .*"fine"/);
      });

      it('throws malformed_document for a CSAF product status list', async () => {
        const bytes = await editedEvidence('vex/csaf/2022-evd-uc-01-f-001.json', (doc) => {
          const [vulnerability] = doc.vulnerabilities as { product_status: object }[];
          vulnerability.product_status = { probably_fine: ['CSAFPID-0001'] };
        });
        assertRejects(bytes, 'csaf.json', 'malformed_document', /probably_fine/);
      });
    });

    describe('when a CSAF document is not in the VEX profile', () => {
      it('throws unrecognized_document', async () => {
        const bytes = await editedEvidence('vex/csaf/sec-vex-2022-0001.json', (doc) => {
          (doc.document as { category: string }).category = 'csaf_security_advisory';
        });
        assertRejects(bytes, 'csaf.json', 'unrecognized_document', /csaf_security_advisory/);
      });
    });

    describe('when the bytes are not UTF-8', () => {
      it('throws unrecognized_document', () => {
        const bytes = Uint8Array.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
        assertRejects(bytes, 'x.json', 'unrecognized_document', /not UTF-8/);
      });
    });

    describe('when the content is JSON of no known format', () => {
      it('throws unrecognized_document', () => {
        assertRejects(utf8('{"hello":"world"}'), 'x.json', 'unrecognized_document', /none of/);
        const notObject = /not a JSON or YAML object/;
        assertRejects(utf8('[1,2,3]'), 'x.json', 'unrecognized_document', notObject);
      });
    });

    describe('when text is neither JSON nor YAML', () => {
      it('throws unrecognized_document, or malformed_document if named .yaml', () => {
        const text = utf8('key: [unclosed\n  - : :\n');
        assertRejects(text, 'notes.txt', 'unrecognized_document', /neither JSON nor YAML/);
        assertRejects(text, 'PYSEC-1.yaml', 'malformed_document', /not valid YAML/);
        assertRejects(utf8('just some prose'), 'notes.txt', 'unrecognized_document', /object/);
      });
    });
  });
});
