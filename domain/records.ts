// Normalized evidence records. These are what the store keeps beside the raw bytes and what
// exports emit; every field name here is part of the export schema (see SCHEMA_VERSIONS).

export const SCHEMA_VERSIONS = {
  advisory: 'stella.advisory/v1',
  vexStatement: 'stella.vex-statement/v1',
  sbom: 'stella.sbom/v1',
} as const;

export type DocumentFormat =
  | 'osv'
  | 'ghsa'
  | 'openvex'
  | 'csaf-vex'
  | 'cyclonedx-sbom'
  | 'cyclonedx-vex'
  | 'spdx';

export type RangeEvent =
  | { introduced: string }
  | { fixed: string }
  | { last_affected: string }
  | { limit: string };

export interface AffectedRange {
  type: string; // SEMVER | ECOSYSTEM | GIT
  events: RangeEvent[];
}

export interface AffectedPackage {
  ecosystem: string; // OSV ecosystem name, e.g. npm, PyPI, Maven, Go, crates.io
  name: string;
  purl?: string;
  ranges: AffectedRange[];
  versions: string[];
  fixed: string[]; // every `fixed` event value, in range order
}

export interface Severity {
  type: string; // CVSS_V2 | CVSS_V3 | CVSS_V4 | Ubuntu ...
  score: string;
}

export interface Reference {
  type: string;
  url: string;
}

export interface NormalizedAdvisory {
  id: string;
  aliases: string[];
  source: string; // ghsa | govulndb | pypa | osv
  summary?: string;
  details?: string;
  severity: Severity[];
  severityLevel?: string; // the source's word (LOW, MODERATE, HIGH, CRITICAL), upper case
  cwes: string[];
  references: Reference[];
  affected: AffectedPackage[];
  published?: string; // RFC 3339 UTC
  modified?: string;
  withdrawn?: string;
}

export type VexStatus = 'not_affected' | 'affected' | 'fixed' | 'under_investigation';

export interface NormalizedVexStatement {
  vulnerability: string;
  aliases: string[];
  product: string; // purl or the document's product id
  subcomponents: string[];
  status: VexStatus;
  justification?: string;
  impactStatement?: string;
  actionStatement?: string;
  issuer?: string;
  timestamp?: string;
  // CycloneDX `affects[].versions[]`: a status per product version or `vers:` range.
  versions?: VexVersionState[];
}

// CycloneDX `affects[].versions[].status`: what one version (or range) of the product is.
export type VexVersionStatus = 'affected' | 'unaffected' | 'unknown';

// One entry of a statement's per-version states: exactly one of `version` (as the document
// spells it) or `range` (a `vers:` expression) is set.
export interface VexVersionState {
  version?: string;
  range?: string;
  status: VexVersionStatus;
}

export interface SbomComponent {
  purl?: string;
  name: string;
  version?: string;
  type?: string;
  hashes: { alg: string; content: string }[];
}

export interface NormalizedSbom {
  format: 'cyclonedx' | 'spdx';
  specVersion: string;
  subject: string; // name of the described software (or document name)
  subjectVersion?: string;
  imageDigest?: string;
  repository?: string;
  tag?: string;
  created?: string;
  components: SbomComponent[];
}

// One parsed document: what a parser returns for a raw document.
export interface ParsedDocument {
  format: DocumentFormat;
  mediaType: string;
  advisories: NormalizedAdvisory[];
  vexStatements: NormalizedVexStatement[];
  sboms: NormalizedSbom[];
}
