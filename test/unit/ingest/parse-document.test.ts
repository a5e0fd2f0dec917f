import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { describe, it } from 'node:test';

import { isStellaError } from '../../../domain/errors.js';
import type { DocumentFormat } from '../../../domain/records.js';
import { collectDocumentPaths } from '../../../ingest/collect-files.js';
import { parseDocument } from '../../../ingest/parse-document.js';
import { EVIDENCE_DIR, readEvidence } from './fixture-files.js';

// What each fixture is, read from its folder and (for the CycloneDX VEX folder, which
// mixes BOMs and VEX) its file name.
function expectedFormat(path: string): DocumentFormat | 'rejected' {
  if (path.endsWith('.spdx3.json')) return 'rejected';

  if (path.startsWith('advisories/osv/ghsa/')) return 'ghsa';

  if (path.startsWith('advisories/')) return 'osv';

  if (path.startsWith('sboms/spdx/')) return 'spdx';

  if (path.startsWith('vex/openvex/')) return 'openvex';

  if (path.startsWith('vex/csaf/')) return 'csaf-vex';

  const isVex = path.startsWith('vex/cyclonedx/') && /(^|\/)vex[^/]*\.json$/.test(path);

  const isSpecVex = path.endsWith('valid-vulnerability-1.6.json');

  return isVex || isSpecVex ? 'cyclonedx-vex' : 'cyclonedx-sbom';
}

async function evidencePaths(): Promise<string[]> {
  const paths: string[] = [];
  for await (const path of collectDocumentPaths([EVIDENCE_DIR])) {
    paths.push(relative(EVIDENCE_DIR, path));
  }

  return paths;
}

describe('ingest', () => {
  describe('parseDocument', () => {
    describe('when given every evidence fixture', () => {
      it('returns the format its folder names, or rejects SPDX 3', async () => {
        const paths = await evidencePaths();
        assert.equal(paths.length, 279);
        for (const path of paths) {
          const expected = expectedFormat(path);
          const bytes = await readEvidence(path);
          if (expected === 'rejected') {
            const rejected = { code: 'unrecognized_document' };
            assert.throws(() => parseDocument(bytes, path), rejected, path);
            continue;
          }

          assert.equal(parseDocument(bytes, path).format, expected, path);
        }
      });

      it('returns records for every document it accepts', async () => {
        for (const path of await evidencePaths()) {
          if (expectedFormat(path) === 'rejected') continue;

          const parsed = parseDocument(await readEvidence(path), path);
          const records =
            parsed.advisories.length + parsed.vexStatements.length + parsed.sboms.length;
          assert.ok(records > 0, path);
        }
      });
    });

    describe('when the same bytes are parsed twice', () => {
      it('returns deep-equal output that survives a JSON round trip', async () => {
        for (const path of await evidencePaths()) {
          if (expectedFormat(path) === 'rejected') continue;

          const bytes = await readEvidence(path);
          const first = parseDocument(bytes, path);
          assert.deepEqual(parseDocument(bytes, path), first, path);
          assert.deepEqual(JSON.parse(JSON.stringify(first)), first, path);
        }
      });
    });

    describe('when the document is SPDX 3.0 JSON-LD', () => {
      it('throws unrecognized_document saying SPDX 3 is not supported yet', async () => {
        const bytes = await readEvidence('sboms/spdx/sbom.spdx3.json');
        try {
          parseDocument(bytes, 'file:///sbom.spdx3.json');
          assert.fail('expected a rejection');
        } catch (err) {
          assert.ok(isStellaError(err));
          assert.equal(err.code, 'unrecognized_document');
          assert.match(err.message, /SPDX 3 .*not supported yet/);
          assert.deepEqual(err.details, { sourceUri: 'file:///sbom.spdx3.json' });
        }
      });
    });
  });
});
