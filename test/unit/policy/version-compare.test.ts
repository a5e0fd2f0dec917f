import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AffectedPackage } from '../../../domain/records.js';
import { comparerFor } from '../../../policy/version-compare/comparer-for.js';
import { mavenComparer } from '../../../policy/version-compare/maven-comparer.js';
import { describeInterval, matchAffected } from '../../../policy/version-compare/osv-range.js';
import { pypiComparer } from '../../../policy/version-compare/pep440-comparer.js';
import { goComparer, npmComparer } from '../../../policy/version-compare/semver-comparer.js';
import type { VersionComparer } from '../../../policy/version-compare/version-comparer.js';

function assertAscending(comparer: VersionComparer, versions: string[]) {
  for (let i = 1; i < versions.length; i++) {
    assert.equal(
      comparer.compare(versions[i - 1], versions[i]),
      -1,
      `${versions[i - 1]} < ${versions[i]}`,
    );
    assert.equal(
      comparer.compare(versions[i], versions[i - 1]),
      1,
      `${versions[i]} > ${versions[i - 1]}`,
    );
  }
}

describe('version comparers', () => {
  describe('npm', () => {
    it('returns SemVer order, numbers compared as numbers', () => {
      assertAscending(npmComparer, [
        '0.3.5',
        '0.21.0',
        '0.39.0',
        '1.0.0-alpha',
        '1.0.0-beta.2',
        '1.0.0-beta.11',
        '1.0.0',
      ]);
    });
  });

  describe('Go', () => {
    it('returns pseudo-versions as pre-releases of the next patch', () => {
      assertAscending(goComparer, [
        'v0.3.3',
        'v0.3.5-0.20201125200606-c27b9fd57aec',
        'v0.3.5',
        'v0.3.7',
        'v0.39.0',
      ]);
      assertAscending(goComparer, ['1.3.0', '1.3.1-0.20190301021747-ccb9e902956d', 'v1.3.1']);
    });

    it('returns equal for +incompatible and with or without the v', () => {
      assert.equal(goComparer.compare('v2.0.0+incompatible', '2.0.0'), 0);
    });
  });

  describe('PyPI', () => {
    it('returns PEP 440 order: dev < pre < final < post, epochs first', () => {
      assertAscending(pypiComparer, [
        '3.2.dev1',
        '3.2a1',
        '3.2rc1',
        '3.2',
        '3.2.post1',
        '3.2.1',
        '3.10',
        '1!0.1',
      ]);
    });

    it('returns 3.2 equal to 3.2.0', () => {
      assert.equal(pypiComparer.compare('3.2', '3.2.0'), 0);
    });
  });

  describe('Maven', () => {
    it('returns the order of EXPECTED.md: 2.0-beta7 < 2.0 < 2.4 < 2.13.0', () => {
      assertAscending(mavenComparer, ['2.0-beta7', '2.0', '2.4', '2.13.0']);
    });

    it('returns qualifier order alpha < beta < milestone < rc < snapshot < release < sp', () => {
      assertAscending(mavenComparer, [
        '1.0-alpha1',
        '1.0-beta1',
        '1.0-milestone1',
        '1.0-rc1',
        '1.0-SNAPSHOT',
        '1.0',
        '1.0-sp1',
      ]);
      assertAscending(mavenComparer, ['1.0-a1', '1.0-b1', '1.0-m1', '1.0-cr1']);
    });

    it('returns trailing zeros and release words as equal', () => {
      for (const same of ['1.0', '1.0.0', '1-ga', '1.0-final', '1.0.0-release']) {
        assert.equal(mavenComparer.compare('1', same), 0, same);
      }
    });

    it('returns unknown qualifiers after sp, lexically, and below numbers', () => {
      assertAscending(mavenComparer, ['1.0-sp', '1.0-foo', '1.0-zzz', '1.0-1', '1.0.1']);
    });
  });

  describe('comparerFor', () => {
    it('returns a comparer for language ecosystems and null for distributions', () => {
      assert.equal(comparerFor('PyPI')?.ecosystem, 'PyPI');
      assert.equal(comparerFor('crates.io')?.ecosystem, 'crates.io');
      assert.equal(comparerFor('RubyGems')?.compare('1.0.0.beta', '1.0.0'), -1);
      assert.equal(comparerFor('Debian:12'), null);
    });
  });
});

function affected(
  events: AffectedPackage['ranges'][number]['events'],
  versions: string[] = [],
): AffectedPackage {
  return { ecosystem: 'npm', name: 'x', ranges: [{ type: 'SEMVER', events }], versions, fixed: [] };
}

describe('matchAffected', () => {
  describe('when introduced and fixed bound the range', () => {
    it('returns the interval for versions inside and null at the fix', () => {
      const pkg = affected([{ introduced: '3.7.0' }, { fixed: '4.17.19' }]);

      assert.equal(
        describeInterval(matchAffected(pkg, '4.17.15', npmComparer)!.interval!),
        '>=3.7.0 <4.17.19',
      );
      assert.equal(matchAffected(pkg, '4.17.15', npmComparer)?.fixedIn, '4.17.19');
      assert.equal(matchAffected(pkg, '4.17.19', npmComparer), null);
      assert.equal(matchAffected(pkg, '2.4.2', npmComparer), null);
    });
  });

  describe('when the range ends with last_affected', () => {
    it('returns a match at the last affected version and none after, without a fix', () => {
      const pkg = affected([{ introduced: '0' }, { last_affected: '1.2.17' }]);

      assert.equal(matchAffected(pkg, '1.2.17', npmComparer)?.fixedIn, undefined);
      assert.ok(matchAffected(pkg, '1.2.17', npmComparer));
      assert.equal(matchAffected(pkg, '1.2.18', npmComparer), null);
    });
  });

  describe('when events are listed out of order with two intervals', () => {
    it('returns the interval that holds the version', () => {
      const pkg = affected([
        { fixed: '1.2.3' },
        { introduced: '1.0.0' },
        { fixed: '0.2.1' },
        { introduced: '0' },
      ]);

      assert.equal(
        describeInterval(matchAffected(pkg, '1.2.0', npmComparer)!.interval!),
        '>=1.0.0 <1.2.3',
      );
      assert.equal(
        describeInterval(matchAffected(pkg, '0.0.8', npmComparer)!.interval!),
        '>=0 <0.2.1',
      );
      assert.equal(matchAffected(pkg, '0.2.1', npmComparer), null);
    });
  });

  describe('when only versions are listed', () => {
    it('returns a match for an equal version in the ecosystem order', () => {
      const pkg = { ...affected([]), ecosystem: 'PyPI', ranges: [], versions: ['3.2', '3.2.1'] };

      assert.equal(matchAffected(pkg, '3.2.0', pypiComparer)?.listed, '3.2');
      assert.equal(matchAffected(pkg, '3.2.2', pypiComparer), null);
    });
  });

  describe('when a range is GIT or holds a version the comparer rejects', () => {
    it('returns null', () => {
      const git = {
        ...affected([{ introduced: '0' }]),
        ranges: [{ type: 'GIT', events: [{ introduced: '0' }] }],
      };

      assert.equal(matchAffected(git, '1.0.0', npmComparer), null);
      assert.equal(matchAffected(affected([{ introduced: 'banana' }]), '1.0.0', npmComparer), null);
      assert.equal(
        matchAffected(affected([{ introduced: '0' }]), 'not-a-version', npmComparer),
        null,
      );
    });
  });
});
