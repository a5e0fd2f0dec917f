import semver from 'semver';
import type { VersionComparer } from './version-comparer.js';

// npm and crates.io versions are SemVer 2.0; npm's registry also accepts a leading "v" and
// "=", which loose parsing covers.
export const npmComparer: VersionComparer = {
  ecosystem: 'npm',
  isValid: (version) => semver.valid(version, { loose: true }) !== null,
  compare: (a, b) => semver.compare(a, b, { loose: true }),
};

export const cratesComparer: VersionComparer = { ...npmComparer, ecosystem: 'crates.io' };

// Go module versions are SemVer with a mandatory "v" (advisories often drop it). Pseudo-
// versions (v1.3.1-0.2019…-abcdef) are pre-releases of the next patch and sort as such;
// "+incompatible" is build metadata, which SemVer ignores for ordering.
export const goComparer: VersionComparer = {
  ecosystem: 'Go',
  isValid: (version) => semver.valid(goVersion(version)) !== null,
  compare: (a, b) => semver.compare(goVersion(a), goVersion(b)),
};

function goVersion(version: string): string {
  return version.startsWith('v') ? version.slice(1) : version;
}
