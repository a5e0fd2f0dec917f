import {
  registerMirrorSection,
  type MirrorSection,
  type MirrorSectionContext,
} from '../adapters/mirror/mirror-sections.js';
import { StellaError } from '../domain/errors.js';
import { consensusRefsOfLine } from '../policy/evaluate-run.js';
import { DEFAULT_VEX_TRUST, vexTrustSchema } from '../policy/policy-snapshot.js';
import { consensusLine, consensusRecords } from './consensus-records.js';
import type { VexTrustWeights } from './vex-consensus.js';

export const CONSENSUS_MIRROR_FILE = 'consensus/vex_consensus.jsonl';

// The `consensus/` section of mirror bundles: the VEX consensus of the run's planned
// statements, the same records json:policy writes. A mirror pins no policy, so the trust
// weights come from the profile: `vexConsensus: {defaultWeight, issuers}`, `true` or
// absent for the defaults, `false` for no section. A delta carries the consensus of its
// whole plan, not of its changes: the file is small next to the statements.
export const consensusMirrorSection: MirrorSection = {
  name: 'consensus',
  write: writeConsensusSection,
};

let registered = false;

// Idempotent: the worker and tests may both ask.
export function registerConsensusMirrorSection(): void {
  if (!registered) {
    registerMirrorSection(consensusMirrorSection);
    registered = true;
  }
}

async function writeConsensusSection(context: MirrorSectionContext): Promise<boolean> {
  const trust = mirrorTrustOf(context.profileConfig);
  if (trust === null) {
    return false;
  }
  const lines: string[] = [];
  for await (const record of context.queries.planRecords(context.runId, 'vex')) {
    lines.push(record.canonical);
  }
  if (lines.length === 0) {
    return false;
  }

  const records = consensusRecords(lines.flatMap(consensusRefsOfLine), trust);
  const text = records.map((record) => consensusLine(record) + '\n').join('');
  await context.files.text(CONSENSUS_MIRROR_FILE, text, 'application/x-ndjson', {
    kinds: ['vex'],
  });

  return true;
}

export function mirrorTrustOf(profileConfig: Record<string, unknown>): VexTrustWeights | null {
  const value = profileConfig.vexConsensus;
  if (value === false) {
    return null;
  }
  if (value === undefined || value === true) {
    return DEFAULT_VEX_TRUST;
  }

  const parsed = vexTrustSchema.safeParse(value);
  if (!parsed.success) {
    const message = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new StellaError('bad_request', `profile vexConsensus is invalid: ${message.join('; ')}`, {
      cause: parsed.error,
    });
  }

  return parsed.data;
}
