import { canonicalJson } from '../bundle/canonical-json.js';
import {
  consensusOf,
  type ConsensusStatus,
  type VexConsensus,
  type VexStatementRef,
  type VexTrustWeights,
} from './vex-consensus.js';

export const CONSENSUS_SCHEMA = 'stella.vex-consensus/v1';

// One line of consensus/vex_consensus.jsonl: one vulnerability in one product.
export interface VexConsensusRecord extends VexConsensus {
  schema: typeof CONSENSUS_SCHEMA;
  vulnerability: string;
  product: string;
  // Set when `product` is an id local to its documents (a CSAF product_id, a CycloneDX
  // bom-ref): such an id only means something among one issuer's (or one document's) own
  // statements, so it is grouped under that scope.
  scope?: string;
}

// The key statements are grouped by. Purls, CPEs, URNs and URLs name a product globally.
export function productScope(statement: VexStatementRef): string | undefined {
  if (/^(pkg:|cpe:|urn:|https?:)/i.test(statement.product)) {
    return undefined;
  }

  return statement.issuer ? `issuer:${statement.issuer}` : `document:${statement.documentSha256}`;
}

// Groups in memory: VEX statement sets are small next to advisories. Output is ordered by
// vulnerability, product and scope, comparing UTF-16 code units, so it never depends on
// the order statements arrived in.
export function consensusRecords(
  statements: Iterable<VexStatementRef>,
  trust: VexTrustWeights,
): VexConsensusRecord[] {
  const groups = new Map<string, { key: GroupKey; statements: VexStatementRef[] }>();
  for (const statement of statements) {
    const key = {
      vulnerability: statement.vulnerability,
      product: statement.product,
      scope: productScope(statement),
    };
    const id = canonicalJson(key);
    const group = groups.get(id) ?? { key, statements: [] };
    group.statements.push(statement);
    groups.set(id, group);
  }

  return [...groups.values()]
    .sort((a, b) => compareKeys(a.key, b.key))
    .map(({ key, statements: grouped }) => ({
      schema: CONSENSUS_SCHEMA,
      vulnerability: key.vulnerability,
      product: key.product,
      ...(key.scope !== undefined ? { scope: key.scope } : {}),
      ...consensusOf(grouped, trust),
    }));
}

interface GroupKey {
  vulnerability: string;
  product: string;
  scope?: string;
}

function compareKeys(a: GroupKey, b: GroupKey): number {
  return (
    compareText(a.vulnerability, b.vulnerability) ||
    compareText(a.product, b.product) ||
    compareText(a.scope ?? '', b.scope ?? '')
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function consensusLine(record: VexConsensusRecord): string {
  return canonicalJson(record);
}

// What a triggered export needs to know after new VEX arrived: which consensus outcomes
// moved. Emitting the recompute event is the scheduler's part; this computes it.
export interface ConsensusChange {
  vulnerability: string;
  product: string;
  scope?: string;
  before: ConsensusStatus | null;
  after: ConsensusStatus | null;
}

export function consensusChanges(
  before: VexConsensusRecord[],
  after: VexConsensusRecord[],
): ConsensusChange[] {
  const keyOf = (r: VexConsensusRecord) =>
    canonicalJson([r.vulnerability, r.product, r.scope ?? null]);
  const old = new Map(before.map((r) => [keyOf(r), r]));
  const now = new Map(after.map((r) => [keyOf(r), r]));
  const keys = [...new Set([...old.keys(), ...now.keys()])].sort();

  return keys.flatMap((key) => {
    const [a, b] = [old.get(key), now.get(key)];
    if (a?.status === b?.status) {
      return [];
    }
    const record = (a ?? b)!;

    return [
      {
        vulnerability: record.vulnerability,
        product: record.product,
        ...(record.scope !== undefined ? { scope: record.scope } : {}),
        before: a?.status ?? null,
        after: b?.status ?? null,
      },
    ];
  });
}
