import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StellaError } from '../../domain/errors.js';
import { MAX_DOCUMENT_BYTES, MAX_NESTING_DEPTH } from '../../ingest/decode-tree.js';
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
});
