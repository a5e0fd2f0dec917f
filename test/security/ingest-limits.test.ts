import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StellaError } from '../../domain/errors.js';
import { MAX_DOCUMENT_BYTES, MAX_NESTING_DEPTH } from '../../ingest/decode-tree.js';
import {
  DEFAULT_INGEST_LIMITS,
  ingestLimitsFromEnv,
  type IngestLimits,
} from '../../ingest/ingest-limits.js';
import { parseDocument } from '../../ingest/parse-document.js';

const encode = (text: string) => new TextEncoder().encode(text);

function rejectsWith(bytes: Uint8Array, sourceUri: string, message: RegExp) {
  assert.throws(
    () => parseDocument(bytes, sourceUri),
    (err: StellaError) => err.code === 'malformed_document' && message.test(err.message),
  );
}

describe('ingest limits', () => {
  describe('parseDocument', () => {
    describe('when the document is over 32 MiB', () => {
      it('throws malformed_document naming the size limit, before parsing', () => {
        const bytes = new Uint8Array(MAX_DOCUMENT_BYTES + 1).fill(0x20);

        rejectsWith(bytes, 'big.json', /32 MiB size limit/);
      });
    });

    describe('when a JSON document nests deeper than the limit', () => {
      it('throws malformed_document naming the depth limit', () => {
        const depth = MAX_NESTING_DEPTH + 1;
        const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
        const text = `{"schema_version":"1.4.0","id":"X","a":${nested}}`;

        rejectsWith(encode(text), 'deep.json', /nested deeper than the 64-level limit/);
      });
    });

    describe('when a JSON document nests a million levels', () => {
      it('throws malformed_document without exhausting the stack', () => {
        const text = `{"a":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`;

        rejectsWith(encode(text), 'deeper.json', /nested deeper/);
      });
    });

    describe('when a YAML document nests deeper than the limit', () => {
      it('throws malformed_document naming the depth limit', () => {
        const lines = Array.from(
          { length: MAX_NESTING_DEPTH + 2 },
          (_, i) => `${'  '.repeat(i)}k${i}:`,
        );

        rejectsWith(encode(`${lines.join('\n')} end\n`), 'deep.yaml', /nested deeper/);
      });
    });

    describe('when a YAML document expands aliases exponentially (billion laughs)', () => {
      it('throws malformed_document instead of expanding them', () => {
        const levels = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
        for (let i = 1; i < 10; i++) {
          const previous = String.fromCharCode(96 + i);
          const name = String.fromCharCode(97 + i);
          levels.push(`${name}: &${name} [${Array(10).fill(`*${previous}`).join(',')}]`);
        }

        rejectsWith(encode(`${levels.join('\n')}\n`), 'laughs.yaml', /YAML/);
      });
    });
  });

  describe('parseDocument with an SBOM component limit', () => {
    const small: IngestLimits = { ...DEFAULT_INGEST_LIMITS, maxSbomComponents: 3 };

    describe('when a CycloneDX SBOM lists more components than the limit', () => {
      it('throws malformed_document naming the count and the limit', () => {
        const bytes = encode(cycloneDx(4));

        assert.throws(() => parseDocument(bytes, 'big.cdx.json', small), {
          code: 'malformed_document',
          message: /SBOM lists 4 components, over the 3-component limit \(maxSbomComponents/,
        });
      });
    });

    describe('when CycloneDX components nest past the limit', () => {
      it('throws malformed_document counting the nested components', () => {
        const nested = JSON.parse(cycloneDx(2)) as { components: { components?: unknown[] }[] };
        nested.components[0].components = [component(10), component(11)];

        assert.throws(() => parseDocument(encode(JSON.stringify(nested)), 'n.cdx.json', small), {
          code: 'malformed_document',
          message: /SBOM lists 4 components/,
        });
      });
    });

    describe('when an SPDX SBOM lists more packages than the limit', () => {
      it('throws malformed_document naming the count and the limit', () => {
        const bytes = encode(spdx(5));

        assert.throws(() => parseDocument(bytes, 'big.spdx.json', small), {
          code: 'malformed_document',
          message: /SBOM lists \d+ components, over the 3-component limit/,
        });
      });
    });

    describe('when an SBOM lists exactly the limit', () => {
      it('returns its components', () => {
        const parsed = parseDocument(encode(cycloneDx(3)), 'ok.cdx.json', small);

        assert.equal(parsed.sboms[0].components.length, 3);
      });
    });

    describe('when no limits are given and a CycloneDX SBOM lists 200 001 components', () => {
      it('throws malformed_document naming the default limit', () => {
        assert.throws(() => parseDocument(encode(cycloneDx(200_001)), 'huge.cdx.json'), {
          code: 'malformed_document',
          message: /SBOM lists 200001 components, over the 200000-component limit/,
        });
      });
    });
  });

  describe('ingestLimitsFromEnv', () => {
    describe('when STELLA_INGEST_MAX_SBOM_COMPONENTS is set', () => {
      it('returns the limits with that component count', () => {
        const limits = ingestLimitsFromEnv({ STELLA_INGEST_MAX_SBOM_COMPONENTS: '500' });

        assert.deepEqual(limits, { ...DEFAULT_INGEST_LIMITS, maxSbomComponents: 500 });
      });
    });

    describe('when it is unset', () => {
      it('returns the 200 000-component default', () => {
        assert.equal(ingestLimitsFromEnv({}).maxSbomComponents, 200_000);
      });
    });

    describe('when it is not a positive integer', () => {
      it('throws bad_request naming the variable', () => {
        assert.throws(() => ingestLimitsFromEnv({ STELLA_INGEST_MAX_SBOM_COMPONENTS: '-1' }), {
          code: 'bad_request',
          message: /STELLA_INGEST_MAX_SBOM_COMPONENTS must be a positive integer/,
        });
      });
    });
  });
});

function component(i: number) {
  return { type: 'library', name: `c${i}`, version: '1.0.0', purl: `pkg:npm/c${i}@1.0.0` };
}

function cycloneDx(count: number): string {
  const components = Array.from({ length: count }, (_, i) => component(i));

  return JSON.stringify({
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    metadata: { component: { type: 'application', name: 'app' } },
    components,
  });
}

function spdx(count: number): string {
  const packages = Array.from({ length: count }, (_, i) => ({
    SPDXID: `SPDXRef-Package-${i}`,
    name: `p${i}`,
    versionInfo: '1.0.0',
    downloadLocation: 'NOASSERTION',
  }));

  return JSON.stringify({
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: 'app',
    documentNamespace: 'https://example.invalid/spdx/app',
    creationInfo: { created: '2024-01-01T00:00:00Z', creators: ['Tool: test'] },
    packages,
  });
}
