import cvssLib from 'ae-cvss-calculator';
import type { NormalizedAdvisory } from '../domain/records.js';
import type { AdvisoryFacts } from './finding-input.js';
import { SEVERITIES, severityWord, type Severity } from './policy-snapshot.js';

// The facts a policy reads about an advisory, computed once when inputs are prepared (not
// in the engine), so that a replay does not depend on the CVSS library's version.
export function advisoryFacts(advisory: NormalizedAdvisory, documentSha256: string): AdvisoryFacts {
  const cvss = highestCvss(advisory);
  const optional = {
    ...(cvss ? { cvss } : {}),
    ...(advisory.published ? { published: advisory.published } : {}),
    ...(advisory.modified ? { modified: advisory.modified } : {}),
  };

  return {
    id: advisory.id,
    aliases: [...advisory.aliases],
    source: advisory.source,
    documentSha256,
    severity: severityOf(advisory.severityLevel, cvss?.score),
    ...optional,
    flags: flagsOf(advisory),
  };
}

function highestCvss(advisory: NormalizedAdvisory): { score: number; vector: string } | undefined {
  let best: { score: number; vector: string } | undefined;
  for (const entry of advisory.severity) {
    const score = cvssScore(entry.type, entry.score);
    if (score !== undefined && (!best || score > best.score)) {
      best = { score, vector: entry.score };
    }
  }

  return best;
}

// A vector the calculator rejects is left out rather than failing the export: the
// advisory's own severity word still applies.
function cvssScore(type: string, vector: string): number | undefined {
  try {
    const parsed = type === 'CVSS_V2' ? new cvssLib.Cvss2(vector) : cvssLib.fromVector(vector);
    const overall = parsed?.calculateScores().overall;

    return typeof overall === 'number' && !Number.isNaN(overall) ? overall : undefined;
  } catch {
    return undefined;
  }
}

// The source's word when it has one, else the CVSS v3 qualitative band of the score.
function severityOf(level: string | undefined, score: number | undefined): Severity {
  const word = level ? severityWord(level) : undefined;
  if (word && (SEVERITIES as readonly string[]).includes(word)) {
    return word as Severity;
  }
  if (score === undefined) return 'UNKNOWN';
  if (score >= 9) return 'CRITICAL';
  if (score >= 7) return 'HIGH';
  if (score >= 4) return 'MEDIUM';

  return score > 0 ? 'LOW' : 'UNKNOWN';
}

function flagsOf(advisory: NormalizedAdvisory): string[] {
  const flags = new Set<string>();
  for (const reference of advisory.references) {
    if (/cisa\.gov\/known-exploited-vulnerabilities/i.test(reference.url)) flags.add('kev');
    if (reference.type === 'EVIDENCE') flags.add('exploit');
  }
  if (advisory.withdrawn) flags.add('withdrawn');

  return [...flags].sort();
}
