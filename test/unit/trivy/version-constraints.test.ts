import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { AffectedPackage, AffectedRange } from '../../../domain/records.js';
import { toTrivyVersions } from '../../../adapters/trivy/version-constraints.js';

const pkg = (ranges: AffectedRange[], versions: string[] = []): AffectedPackage => ({
  ecosystem: 'npm',
  name: 'x',
  ranges,
  versions,
  fixed: [],
});
const ecosystem = (...events: AffectedRange['events']): AffectedRange => ({
  type: 'ECOSYSTEM',
  events,
});

describe('toTrivyVersions', () => {
  describe('when a range starts at 0 and has a fix', () => {
    it('returns an upper bound only and the fix as patched version', () => {
      const result = toTrivyVersions(
        pkg([ecosystem({ introduced: '0' }, { fixed: '4.17.21' })]),
        'affected[0]',
      );

      assert.deepEqual(result, { vulnerable: ['<4.17.21'], patched: ['4.17.21'] });
    });
  });

  describe('when one range holds several introduced/fixed pairs', () => {
    it('returns one constraint per pair, bounds joined by a comma', () => {
      const events = [
        { introduced: '0' },
        { fixed: '0.2.1' },
        { introduced: '1.0.0' },
        { fixed: '1.2.3' },
      ];
      const result = toTrivyVersions(pkg([ecosystem(...events)]), 'affected[0]');

      assert.deepEqual(result, {
        vulnerable: ['<0.2.1', '>=1.0.0, <1.2.3'],
        patched: ['0.2.1', '1.2.3'],
      });
    });
  });

  describe('when a range ends with last_affected or never ends', () => {
    it('returns <=, = and >= constraints without patched versions', () => {
      const ranges = [
        ecosystem({ introduced: '1.0' }, { last_affected: '1.2' }),
        ecosystem({ introduced: '2.0' }, { last_affected: '2.0' }),
        ecosystem({ introduced: '3.0' }),
      ];

      assert.deepEqual(toTrivyVersions(pkg(ranges), 'affected[0]'), {
        vulnerable: ['>=1.0, <=1.2', '=2.0', '>=3.0'],
        patched: [],
      });
    });
  });

  describe('when only GIT ranges and a version list exist', () => {
    it('returns the listed versions as exact matches', () => {
      const git: AffectedRange = { type: 'GIT', events: [{ introduced: 'abc' }, { fixed: 'def' }] };

      assert.deepEqual(toTrivyVersions(pkg([git], ['1.0', '1.1']), 'affected[0]'), {
        vulnerable: ['=1.0', '=1.1'],
        patched: [],
      });
    });
  });

  describe('when nothing says which versions are affected', () => {
    it('throws schema_mismatch naming the ranges field', () => {
      assert.throws(() => toTrivyVersions(pkg([]), 'affected[3]'), {
        code: 'schema_mismatch',
        message: /affected\[3\]\.ranges/,
      });
    });
  });

  describe('when a range uses a limit event or an unknown type', () => {
    it('throws schema_mismatch naming the event or the type', () => {
      const limited = ecosystem({ introduced: '0' }, { limit: '2.0' });
      const odd: AffectedRange = { type: 'CALVER', events: [{ introduced: '0' }] };

      assert.throws(() => toTrivyVersions(pkg([limited]), 'affected[0]'), {
        code: 'schema_mismatch',
        message: /affected\[0\]\.ranges\[0\]\.events\[1\]\.limit/,
      });
      assert.throws(() => toTrivyVersions(pkg([odd]), 'affected[0]'), {
        code: 'schema_mismatch',
        message: /affected\[0\]\.ranges\[0\]\.type/,
      });
    });
  });

  describe('when a version contains constraint syntax', () => {
    it('throws schema_mismatch naming the version field', () => {
      const bad = ecosystem({ introduced: '0' }, { fixed: '1.0, 2.0' });

      assert.throws(() => toTrivyVersions(pkg([bad]), 'affected[0]'), {
        code: 'schema_mismatch',
        message: /events\[1\]\.fixed/,
      });
    });
  });
});
