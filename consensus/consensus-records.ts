import { canonicalJson } from '../bundle/canonical-json.js';
import {
  consensusOf,
  type ConsensusStatus,
  type VexConsensus,
  type VexStatementRef,
  type VexTrustWeights,
} from './vex-consensus.js';
import { versionKeyOf } from './vex-versions.js';

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
  // Set for the votes of statements with per-version states (CycloneDX `affects[].versions`):
  // the version or `vers:` range they name. Statements about the product as a whole are in
  // the record without it.
  productVersion?: string;
}

// The key statements are grouped by. Purls, CPEs, URNs and URLs name a product globally.
export function productScope(statement: VexStatementRef): string | undefined {
  if (/^(pkg:|cpe:|urn:|https?:)/i.test(statement.product)) {
    return undefined;
  }

  return statement.issuer ? `issuer:${statement.issuer}` : `document:${statement.documentSha256}`;
}

// Groups in memory: VEX statement sets are small next to advisories. Output is ordered by
// vulnerability, product, scope and product version, comparing UTF-16 code units, so it
// never depends on the order statements arrived in.
export function consensusRecords(
  statements: Iterable<VexStatementRef>,
  trust: VexTrustWeights,
): VexConsensusRecord[] {
  const groups = new Map<string, { key: ConsensusKey; statements: VexStatementRef[] }>();
  for (const statement of statements) {
    const key = consensusKeyOf(statement);
    const id = keyText(key);
    const group = groups.get(id) ?? { key, statements: [] };
    group.statements.push(statement);
    groups.set(id, group);
  }

  return [...groups.values()]
    .sort((a, b) => compareKeys(a.key, b.key))
    .map(({ key, statements: grouped }) => ({
      schema: CONSENSUS_SCHEMA,
      ...key,
      ...consensusOf(grouped, trust),
    }));
}

// What one consensus record is about; absent fields stay absent.
export interface ConsensusKey {
  vulnerability: string;
  product: string;
  scope?: string;
  productVersion?: string;
}

export function consensusKeyOf(statement: VexStatementRef): ConsensusKey {
  const scope = productScope(statement);
  const version = statement.versionState && versionKeyOf(statement.versionState);

  return {
    vulnerability: statement.vulnerability,
    product: statement.product,
    ...(scope !== undefined ? { scope } : {}),
    ...(version !== undefined ? { productVersion: version } : {}),
  };
}

function keyText(key: ConsensusKey): string {
  const { vulnerability, product, scope, productVersion } = key;

  return canonicalJson([vulnerability, product, scope ?? null, productVersion ?? null]);
}

function compareKeys(a: ConsensusKey, b: ConsensusKey): number {
  return (
    compareText(a.vulnerability, b.vulnerability) ||
    compareText(a.product, b.product) ||
    compareText(a.scope ?? '', b.scope ?? '') ||
    compareText(a.productVersion ?? '', b.productVersion ?? '')
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function consensusLine(record: VexConsensusRecord): string {
  return canonicalJson(record);
}

// What a triggered export needs to know after new VEX arrived: which consensus outcomes
// moved (ingest/consensus-recompute.ts emits them as `vex.consensus.recomputed`).
export interface ConsensusChange extends ConsensusKey {
  before: ConsensusStatus | null;
  after: ConsensusStatus | null;
}

// Ordered like the records; a key present on one side only changed from or to null.
export function consensusChanges(
  before: VexConsensusRecord[],
  after: VexConsensusRecord[],
): ConsensusChange[] {
  const old = new Map(before.map((r) => [keyText(r), r]));
  const now = new Map(after.map((r) => [keyText(r), r]));
  const keys = new Map([...before, ...after].map((r) => [keyText(r), keyOfRecord(r)]));

  return [...keys.values()].sort(compareKeys).flatMap((key) => {
    const [a, b] = [old.get(keyText(key)), now.get(keyText(key))];
    if (a?.status === b?.status) {
      return [];
    }

    return [{ ...key, before: a?.status ?? null, after: b?.status ?? null }];
  });
}

function keyOfRecord(record: VexConsensusRecord): ConsensusKey {
  const { vulnerability, product, scope, productVersion } = record;

  return {
    vulnerability,
    product,
    ...(scope !== undefined ? { scope } : {}),
    ...(productVersion !== undefined ? { productVersion } : {}),
  };
}
