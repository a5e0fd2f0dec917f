import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  canonicalPurl,
  normalizeTimestamp,
  sortedUnique,
} from '../../../ingest/normalize-values.js';

describe('ingest', () => {
  describe('normalizeTimestamp', () => {
    describe('when the timestamp is already UTC', () => {
      it('returns it unchanged, fraction digits kept', () => {
        assert.equal(normalizeTimestamp('2021-12-10T00:40:56Z', 'f'), '2021-12-10T00:40:56Z');
        assert.equal(
          normalizeTimestamp('2021-06-22T04:54:55.381670Z', 'f'),
          '2021-06-22T04:54:55.381670Z',
        );
        assert.equal(normalizeTimestamp('0001-01-01T00:00:00Z', 'f'), '0001-01-01T00:00:00Z');
      });
    });

    describe('when the timestamp has an offset', () => {
      it('returns the same instant in UTC, across a day boundary', () => {
        assert.equal(
          normalizeTimestamp('2023-12-04T21:55:19.945014473-06:00', 'f'),
          '2023-12-05T03:55:19.945014473Z',
        );
        const leapDay = '2024-02-29T23:30:00Z';
        assert.equal(normalizeTimestamp('2024-03-01T01:30:00+0200', 'f'), leapDay);
        assert.equal(normalizeTimestamp('2024-01-01t00:00:00z', 'f'), '2024-01-01T00:00:00Z');
      });
    });

    describe('when the timestamp is not RFC 3339', () => {
      it('throws malformed_document naming the field', () => {
        for (const bad of [
          '2021-02-30T00:00:00Z',
          '2021-12-10',
          '2021-12-10T24:00:00Z',
          '2021-12-10T00:00Z',
          '2021-12-10T00:00:00+25:00',
          'Fri, 10 Dec 2021 00:40:56 GMT',
        ]) {
          assert.throws(() => normalizeTimestamp(bad, 'document.tracking.date'), {
            code: 'malformed_document',
            message: new RegExp(`^document\\.tracking\\.date is not an RFC 3339 timestamp`),
          }, bad);
        }
      });
    });
  });

  describe('canonicalPurl', () => {
    describe('when the purl is valid but not canonical', () => {
      it('returns the canonical form', () => {
        assert.equal(canonicalPurl('pkg:NPM/foo@1?b=2&a=1', 'p'), 'pkg:npm/foo@1?a=1&b=2');
        assert.equal(canonicalPurl('pkg:pypi/Django_Foo@1.0', 'p'), 'pkg:pypi/django-foo@1.0');
      });
    });

    describe('when the purl is invalid', () => {
      it('throws malformed_document naming the field and purl', () => {
        assert.throws(() => canonicalPurl('pkg:npm', 'components[3].purl'), {
          code: 'malformed_document',
          message: 'components[3].purl is not a valid purl: "pkg:npm"',
        });
      });
    });
  });

  describe('sortedUnique', () => {
    describe('when values repeat and differ in case', () => {
      it('returns them once each in code-unit order', () => {
        assert.deepEqual(sortedUnique(['b', 'B', 'a', 'b']), ['B', 'a', 'b']);
      });
    });
  });
});
