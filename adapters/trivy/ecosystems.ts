// OSV ecosystems Trivy scans, the bucket prefix it looks up for each, and how it normalises
// package names before the lookup (docs/formats/trivy-db.md sections 5.2, 5.3, 5.5). Matching of the
// OSV name is case-insensitive, as trivy-db's own OSV importer does it.

export interface TrivyEcosystem {
  prefix: string; // the part before "::" in the top-level bucket name
  ghsaWord: string; // how GitHub's advisory database names the ecosystem in bucket names
  normalizeName(name: string): string;
}

const lowerCase = (name: string): string => name.toLowerCase();
const unchanged = (name: string): string => name;
const pipName = (name: string): string => name.toLowerCase().replaceAll('_', '-');
const swiftName = (name: string): string => name.replace(/^https:\/\//, '').replace(/\.git$/, '');

const ECOSYSTEMS: Record<string, TrivyEcosystem> = {
  npm: { prefix: 'npm', ghsaWord: 'npm', normalizeName: lowerCase },
  pypi: { prefix: 'pip', ghsaWord: 'pip', normalizeName: pipName },
  maven: { prefix: 'maven', ghsaWord: 'Maven', normalizeName: lowerCase },
  go: { prefix: 'go', ghsaWord: 'Go', normalizeName: unchanged },
  'crates.io': { prefix: 'cargo', ghsaWord: 'Rust', normalizeName: lowerCase },
  rubygems: { prefix: 'rubygems', ghsaWord: 'RubyGems', normalizeName: lowerCase },
  nuget: { prefix: 'nuget', ghsaWord: 'NuGet', normalizeName: lowerCase },
  packagist: { prefix: 'composer', ghsaWord: 'Composer', normalizeName: lowerCase },
  pub: { prefix: 'pub', ghsaWord: 'Pub', normalizeName: lowerCase },
  hex: { prefix: 'erlang', ghsaWord: 'Erlang', normalizeName: lowerCase },
  swifturl: { prefix: 'swift', ghsaWord: 'Swift', normalizeName: swiftName },
  'purl-type:swift': { prefix: 'swift', ghsaWord: 'Swift', normalizeName: swiftName },
  bitnami: { prefix: 'bitnami', ghsaWord: 'Bitnami', normalizeName: lowerCase },
  kubernetes: { prefix: 'k8s', ghsaWord: 'Kubernetes', normalizeName: lowerCase },
};

// null: Trivy has no language bucket for this ecosystem (OS ecosystems such as "Debian:12"
// are scanned from distro feeds with their own layouts, which this mapping does not build).
export function trivyEcosystemFor(osvEcosystem: string): TrivyEcosystem | null {
  return ECOSYSTEMS[osvEcosystem.toLowerCase()] ?? null;
}

export interface TrivyDataSource {
  ID: string;
  Name: string;
  URL: string;
}

const GHSA_QUERY = 'https://github.com/advisories?query=type%3Areviewed+ecosystem%3A';

// Bucket name (and data-source record) per evidence source. Only the prefix matters to Trivy;
// the names follow trivy-db's where it has an equivalent feed so that output reads the same.
export function dataSourceFor(source: string, ecosystem: TrivyEcosystem): TrivyDataSource | null {
  switch (source) {
    case 'ghsa':
      return {
        ID: 'ghsa',
        Name: `GitHub Security Advisory ${ecosystem.ghsaWord}`,
        URL: `${GHSA_QUERY}${ecosystem.ghsaWord.toLowerCase()}`,
      };
    case 'govulndb':
      return {
        ID: 'govulndb',
        Name: 'The Go Vulnerability Database',
        URL: 'https://pkg.go.dev/vuln/',
      };
    case 'pypa':
      return {
        ID: 'osv',
        Name: 'Python Packaging Advisory Database',
        URL: 'https://github.com/pypa/advisory-db',
      };
    case 'osv':
      return { ID: 'osv', Name: 'Open Source Vulnerabilities', URL: 'https://osv.dev' };
    default:
      return null;
  }
}

// Lower rank wins when several sources describe the same vulnerability ID.
export const SOURCE_RANK: Record<string, number> = { ghsa: 0, govulndb: 1, pypa: 2, osv: 3 };
