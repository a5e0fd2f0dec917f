import type { VexStatementRef } from '../consensus/vex-consensus.js';
import type { Severity } from './policy-snapshot.js';

export const FINDING_INPUT_SCHEMA = 'stella.policy-input/v1';

// Everything a decision about one finding may read: one line of inputs/findings.jsonl.zst.
// The engine sees nothing else (besides the policy and the run's `asOf`), which is what
// makes a decision replayable from the bundle.
export interface FindingInput {
  schema: typeof FINDING_INPUT_SCHEMA;
  findingId: string;
  sbom: { documentSha256: string; subject: string };
  component: {
    ordinal: number;
    purl: string;
    name: string;
    version: string;
    ecosystem: string;
    package: string;
  };
  advisory: AdvisoryFacts;
  match: { range: string; fixedIn?: string };
  // The VEX statements about this vulnerability in this component (or in the SBOM's
  // subject, naming this component as a subcomponent), as consensus reads them.
  vex: VexStatementRef[];
}

export interface AdvisoryFacts {
  id: string;
  aliases: string[];
  source: string;
  documentSha256: string;
  severity: Severity;
  cvss?: { score: number; vector: string };
  published?: string;
  modified?: string;
  // Markers found in the evidence itself: "kev" (a reference to CISA's Known Exploited
  // Vulnerabilities catalog), "exploit" (an OSV reference of type EVIDENCE), "withdrawn".
  flags: string[];
}
