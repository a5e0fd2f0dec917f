import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isStellaError } from '../../../domain/errors.js';
import { parseDocument } from '../../../ingest/parse-document.js';
import {
  MAX_POINTERS,
  screenRawDocument,
  withheldEntry,
} from '../../../redaction/raw-document-screen.js';
import { EVIDENCE } from '../../support/export-stack.js';
import { CARRIERS, PLANTED, containsPlanted, plantedBytes } from './planted-documents.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

const OSV = {
  schema_version: '1.6.0',
  id: 'GO-2099-0001',
  modified: '2024-01-01T00:00:00Z',
  affected: [{ package: { ecosystem: 'Go', name: 'example.com/m' }, database_specific: {} }],
};

describe('raw-document screen', () => {
  describe('screenRawDocument', () => {
    describe('when given every real document in test/fixtures/evidence', () => {
      it('returns passed for each one the parsers accept', async () => {
        const screened: string[] = [];
        const withheld: string[] = [];
        for (const file of await evidenceFiles()) {
          const bytes = await readFile(file);
          const format = formatOf(bytes, file);
          if (format === undefined) continue;
          screened.push(file);
          const result = screenRawDocument({ bytes, format });
          const name = path.relative(EVIDENCE, file);
          if (!result.passed) withheld.push(`${name}: ${result.pointers}`);
        }

        assert.ok(screened.length > 250, `only ${screened.length} fixtures screened`);
        assert.deepEqual(withheld, []);
      });
    });

    describe('when a fixture of each format carries planted credentials', () => {
      for (const relative of CARRIERS) {
        it(`returns secret_pattern with pointers, not values, for ${relative}`, async () => {
          const bytes = await plantedBytes(relative);
          const result = screenRawDocument({ bytes, format: formatOf(bytes, relative)! });

          assert.equal(result.passed, false);
          assert.equal(result.passed === false && result.reason, 'secret_pattern');
          assert.deepEqual(result.passed === false && result.pointers, [
            '/x_internal/aws_access_key_id',
            '/x_internal/github_token',
            '/x_internal/private_key',
            '/x_internal/password',
            '/x_internal',
          ]);
          assert.deepEqual(containsPlanted(JSON.stringify(result)), []);
        });
      }
    });

    describe('when an OSV-YAML document carries a planted token', () => {
      it('returns secret_pattern at the YAML key', () => {
        const yaml = `id: PYSEC-2099-1\nmodified: "2024-01-01T00:00:00Z"\n` +
          `affected: []\nnotes: ${PLANTED.githubToken}\n`;
        const result = screenRawDocument({ bytes: Buffer.from(yaml), format: 'osv' });

        assert.deepEqual(result, {
          passed: false,
          reason: 'secret_pattern',
          pointers: ['/notes'],
          pointerCount: 1,
          documentId: 'PYSEC-2099-1',
        });
      });
    });

    describe('when a document has a field its schema does not know', () => {
      it('returns unknown_fields with the pointer of the key only', () => {
        const document = { ...OSV, affected: [{ ...OSV.affected[0], internal_note: { a: 1 } }] };
        const result = screenRawDocument({ bytes: json(document), format: 'ghsa' });

        assert.deepEqual(result, {
          passed: false,
          reason: 'unknown_fields',
          pointers: ['/affected/0/internal_note'],
          pointerCount: 1,
          documentId: 'GO-2099-0001',
        });
      });

      it('returns the key escaped as RFC 6901 says', () => {
        const result = screenRawDocument({ bytes: json({ ...OSV, 'a/b~c': 1 }), format: 'osv' });

        assert.deepEqual(result.passed === false && result.pointers, ['/a~1b~0c']);
      });

      it(`returns at most ${MAX_POINTERS} pointers and the full count`, () => {
        const extra = Object.fromEntries([...Array(150).keys()].map((n) => [`x${n}`, n]));
        const result = screenRawDocument({ bytes: json({ ...OSV, ...extra }), format: 'osv' });

        assert.equal(result.passed === false && result.pointers.length, MAX_POINTERS);
        assert.equal(result.passed === false && result.pointerCount, 150);
      });
    });

    describe('when an unknown key sits in a free-form area of the schema', () => {
      it('returns passed for database_specific keys with ordinary values', () => {
        const specific = { database_specific: { cwe_ids: ['CWE-79'], github_reviewed: true } };
        const result = screenRawDocument({ bytes: json({ ...OSV, ...specific }), format: 'osv' });

        assert.deepEqual(result, { passed: true });
      });

      it('returns secret_pattern for a credential-named key there', () => {
        const specific = { database_specific: { api_key: 'abc123' } };
        const result = screenRawDocument({ bytes: json({ ...OSV, ...specific }), format: 'osv' });

        assert.deepEqual(result.passed === false && [result.reason, result.pointers], [
          'secret_pattern',
          ['/database_specific/api_key'],
        ]);
      });
    });

    describe('when a known field holds a credential-shaped value', () => {
      it('returns secret_pattern at the value, and no document id when it is the id', () => {
        const bytes = json({ ...OSV, id: PLANTED.awsKeyId });
        const result = screenRawDocument({ bytes, format: 'osv' });

        assert.deepEqual(result, {
          passed: false,
          reason: 'secret_pattern',
          pointers: ['/id'],
          pointerCount: 1,
        });
      });

      it('returns secret_pattern for a CycloneDX property named like a password', () => {
        const bom = {
          bomFormat: 'CycloneDX',
          specVersion: '1.5',
          serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
          properties: [{ name: 'build:password', value: PLANTED.password }],
        };
        const result = screenRawDocument({ bytes: json(bom), format: 'cyclonedx-sbom' });

        assert.deepEqual(result.passed === false && [result.reason, result.pointers], [
          'secret_pattern',
          ['/properties/0/value'],
        ]);
      });
    });

    describe('when the format or its version has no schema here', () => {
      it('returns unknown_fields for the whole document', () => {
        const bom = { bomFormat: 'CycloneDX', specVersion: '1.7', serialNumber: 'urn:uuid:x' };
        const result = screenRawDocument({ bytes: json(bom), format: 'cyclonedx-sbom' });

        assert.deepEqual(result, {
          passed: false,
          reason: 'unknown_fields',
          pointers: [''],
          pointerCount: 1,
        });
      });
    });

    describe('when the same bytes are screened twice', () => {
      it('returns equal results', async () => {
        const bytes = await plantedBytes(CARRIERS[5]);

        assert.deepEqual(
          screenRawDocument({ bytes, format: 'cyclonedx-sbom' }),
          screenRawDocument({ bytes, format: 'cyclonedx-sbom' }),
        );
      });
    });
  });

  describe('withheldEntry', () => {
    describe('when the document passes', () => {
      it('returns undefined', () => {
        const sha256 = 'a'.repeat(64);
        const bytes = json(OSV);
        const entry = withheldEntry({ kind: 'advisories', sha256, format: 'osv', bytes });

        assert.equal(entry, undefined);
      });
    });

    describe('when the document is flagged', () => {
      it('returns the manifest entry with kind, record id, hash, reason and pointers', () => {
        const bytes = json({ ...OSV, password: 'x' });
        const sha256 = 'b'.repeat(64);
        const entry = withheldEntry({ kind: 'advisories', sha256, format: 'osv', bytes });

        assert.deepEqual(entry, {
          kind: 'advisories',
          recordId: 'GO-2099-0001',
          sha256: 'b'.repeat(64),
          reason: 'secret_pattern',
          pointers: ['/password'],
          pointerCount: 1,
        });
      });
    });
  });
});

async function evidenceFiles(): Promise<string[]> {
  const entries = await readdir(EVIDENCE, { recursive: true, withFileTypes: true });

  return entries
    .filter((entry) => entry.isFile() && /\.(json|ya?ml)$/.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

// The format the store records for a document, or undefined for one ingest rejects (SPDX 3).
function formatOf(bytes: Buffer, file: string): string | undefined {
  try {
    return parseDocument(bytes, file).format;
  } catch (err) {
    if (isStellaError(err)) return undefined;
    throw err;
  }
}
