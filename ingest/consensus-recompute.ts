import {
  consensusChanges,
  consensusRecords,
  type ConsensusChange,
  type VexConsensusRecord,
} from '../consensus/consensus-records.js';
import type { VexTrustWeights } from '../consensus/vex-consensus.js';
import type { NormalizedVexStatement } from '../domain/records.js';
import { consensusRefsOfLine } from '../policy/evaluate-run.js';
import { DEFAULT_VEX_TRUST, parsePolicySnapshot } from '../policy/policy-snapshot.js';
import { vexLinesAbout, type StatementKey } from '../store/consensus-store.js';
import type { Database } from '../store/database.js';
import { latestPolicy } from '../store/policy-store.js';

// Which VEX consensus outcomes one ingest moved. Before a document's statements are
// stored, the consensus of every (vulnerability, product) they touch is taken, once per
// ingest; after the last document it is taken again and the two compared. Comparing only
// at the ends means a status that changes and changes back within one ingest is no change.
//
// Trust weights are those of the tenant's latest published policy (the defaults before one
// is published): a run pinned to an older policy may weigh issuers differently, so an
// event is a hint to recompute, not the run's own outcome.
export class ConsensusRecompute {
  private readonly before = new Map<string, TouchedKey>();

  private constructor(
    private readonly db: Database,
    private readonly tenant: string,
    private readonly trust: VexTrustWeights,
  ) {}

  static async forTenant(db: Database, tenant: string): Promise<ConsensusRecompute> {
    const policy = await latestPolicy(db, tenant);
    const trust = policy ? parsePolicySnapshot(policy.document).vex : DEFAULT_VEX_TRUST;

    return new ConsensusRecompute(db, tenant, trust);
  }

  // Call before the statements are stored.
  async noteStatements(statements: NormalizedVexStatement[]): Promise<void> {
    const fresh = uniqueKeys(statements).filter((key) => !this.before.has(keyText(key)));
    if (fresh.length === 0) {
      return;
    }

    const records = await this.recordsAbout(fresh);
    for (const key of fresh) {
      this.before.set(keyText(key), { key, records: records.filter((r) => sameKey(r, key)) });
    }
  }

  // Call after the last document is stored.
  async changes(): Promise<ConsensusChange[]> {
    const touched = [...this.before.values()];
    if (touched.length === 0) {
      return [];
    }

    const before = touched.flatMap((entry) => entry.records);
    const after = await this.recordsAbout(touched.map((entry) => entry.key));

    return consensusChanges(before, after);
  }

  private async recordsAbout(keys: StatementKey[]): Promise<VexConsensusRecord[]> {
    const lines = await vexLinesAbout(this.db, this.tenant, keys);

    return consensusRecords(lines.flatMap(consensusRefsOfLine), this.trust);
  }
}

function uniqueKeys(statements: NormalizedVexStatement[]): StatementKey[] {
  const keys = new Map<string, StatementKey>();
  for (const { vulnerability, product } of statements) {
    keys.set(keyText({ vulnerability, product }), { vulnerability, product });
  }

  return [...keys.values()];
}

function keyText(key: StatementKey): string {
  return JSON.stringify([key.vulnerability, key.product]);
}

function sameKey(record: VexConsensusRecord, key: StatementKey): boolean {
  return record.vulnerability === key.vulnerability && record.product === key.product;
}

interface TouchedKey {
  key: StatementKey;
  records: VexConsensusRecord[];
}
