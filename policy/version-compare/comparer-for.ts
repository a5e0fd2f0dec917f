import { genericComparer } from './generic-comparer.js';
import { mavenComparer } from './maven-comparer.js';
import { pypiComparer } from './pep440-comparer.js';
import { cratesComparer, goComparer, npmComparer } from './semver-comparer.js';
import type { VersionComparer } from './version-comparer.js';

// Keyed by the OSV ecosystem name, lower-cased (OSV spells them npm, PyPI, Maven, Go, …).
const COMPARERS: Record<string, VersionComparer> = {
  npm: npmComparer,
  go: goComparer,
  pypi: pypiComparer,
  maven: mavenComparer,
  'crates.io': cratesComparer,
  rubygems: genericComparer('RubyGems'),
  nuget: genericComparer('NuGet'),
  packagist: genericComparer('Packagist'),
  pub: genericComparer('Pub'),
  hex: genericComparer('Hex'),
};

// null for ecosystems whose order we do not know (Linux distributions: dpkg, rpm and apk
// orders are not implemented), so that no finding is claimed on a guessed order.
export function comparerFor(ecosystem: string): VersionComparer | null {
  const base = ecosystem.split(':')[0].toLowerCase();

  return COMPARERS[base] ?? null;
}
