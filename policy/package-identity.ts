import { PackageURL } from 'packageurl-js';

// A package as both sides of a match name it: the OSV ecosystem and the name in the form
// that ecosystem compares (PEP 503 for PyPI, group:artifact for Maven, the module path for
// Go, lower case where the registry is case-insensitive).
export interface PackageIdentity {
  ecosystem: string;
  name: string;
  version?: string;
}

const ECOSYSTEM_BY_PURL_TYPE: Record<string, string> = {
  npm: 'npm',
  pypi: 'PyPI',
  maven: 'Maven',
  golang: 'Go',
  cargo: 'crates.io',
  gem: 'RubyGems',
  nuget: 'NuGet',
  composer: 'Packagist',
  pub: 'Pub',
  hex: 'Hex',
};

// null for a purl that does not parse or names a type no advisory source here covers.
export function identityOfPurl(purl: string): PackageIdentity | null {
  let parsed: PackageURL;
  try {
    parsed = PackageURL.fromString(purl);
  } catch {
    return null;
  }
  const ecosystem = ECOSYSTEM_BY_PURL_TYPE[parsed.type];
  if (!ecosystem) {
    return null;
  }
  const separator = ecosystem === 'Maven' ? ':' : '/';
  const fullName = parsed.namespace ? `${parsed.namespace}${separator}${parsed.name}` : parsed.name;

  return { ecosystem, name: packageKey(ecosystem, fullName), version: parsed.version ?? undefined };
}

export function packageKey(ecosystem: string, name: string): string {
  switch (ecosystem.toLowerCase()) {
    case 'go':
      return name;
    case 'pypi':
      return name.toLowerCase().replace(/[-_.]+/g, '-');
    default:
      return name.toLowerCase();
  }
}

export function ecosystemKey(ecosystem: string): string {
  return ecosystem.split(':')[0].toLowerCase();
}

// The purl without version, qualifiers or subpath: what a VEX statement about "every
// version" of a package names.
export function versionlessPurl(purl: string): string {
  return purl.replace(/[?#].*$/, '').replace(/@[^@/]*$/, '');
}
