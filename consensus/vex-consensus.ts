import type { VexStatus, VexVersionState } from '../domain/records.js';

// Several VEX statements about one vulnerability in one product → one status, with every
// statement listed beside the role it played. Statements are referenced, never rewritten.
//
// 1. Trust: each statement weighs what the policy gives its issuer (defaultWeight for
//    issuers it does not name, and for statements without an issuer). Weight 0 = ignored.
// 2. Recency: an issuer's newest statement supersedes its older ones (no timestamp counts
//    as oldest). A statement without issuer votes for its own document only.
// 3. Tally: each remaining statement adds its weight to its status; the heaviest status
//    wins. Equal weights are settled by precedence: fixed > not_affected with a
//    justification (or impact statement, which OpenVEX accepts in its place) > affected >
//    not_affected without either > under_investigation.
//
// A statement with per-version states (CycloneDX) votes per version: see vex-versions.ts.

export interface VexTrustWeights {
  defaultWeight: number;
  issuers: { issuer: string; weight: number }[];
}

// What consensus reads of a statement; `ref` is the sha256 of its canonical JSONL line.
export interface VexStatementRef {
  ref: string;
  documentSha256: string;
  vulnerability: string;
  product: string;
  status: VexStatus;
  justification?: string;
  impactStatement?: string;
  issuer?: string;
  timestamp?: string;
  // Set when the statement votes for one version entry of its product; `status` is then
  // the vote for that version (vex-versions.ts), not the analysis status.
  versionState?: VexVersionState;
}

export type StatementRole = 'agrees' | 'dissents' | 'superseded' | 'untrusted';
export type ConsensusStatus = VexStatus | 'unknown';

export interface ContributingStatement {
  ref: string;
  documentSha256: string;
  issuer?: string;
  status: VexStatus;
  justification?: string;
  timestamp?: string;
  versionState?: VexVersionState;
  weight: number;
  role: StatementRole;
}

export interface VexConsensus {
  status: ConsensusStatus;
  justification?: string;
  resolvedBy: 'unanimous' | 'weight' | 'precedence' | 'no_trusted_statement';
  weights: Partial<Record<VexStatus, number>>;
  statements: ContributingStatement[];
}

interface Vote {
  statement: VexStatementRef;
  voter: string;
  weight: number;
  role?: StatementRole;
}

export function consensusOf(statements: VexStatementRef[], trust: VexTrustWeights): VexConsensus {
  const votes = [...statements].sort(byRef).map((s) => voteOf(s, trust));
  const sameTimeConflict = markSuperseded(votes);
  const current = votes.filter((v) => v.role === undefined);
  const weights = tally(current);
  const decided = decide(current, weights);
  // One issuer saying two things at the same instant is settled by precedence too.
  const outcome =
    sameTimeConflict && decided.resolvedBy === 'unanimous'
      ? { ...decided, resolvedBy: 'precedence' as const }
      : decided;
  for (const vote of current) {
    vote.role = vote.statement.status === outcome.status ? 'agrees' : 'dissents';
  }

  return {
    status: outcome.status,
    ...justificationOf(current, outcome.status),
    resolvedBy: outcome.resolvedBy,
    weights,
    statements: votes.map(contribution),
  };
}

function voteOf(statement: VexStatementRef, trust: VexTrustWeights): Vote {
  const weight = weightOf(statement.issuer, trust);
  const voter = statement.issuer ?? `document:${statement.documentSha256}`;

  return { statement, voter, weight, role: weight > 0 ? undefined : 'untrusted' };
}

// Issuer names are matched without regard to case or surrounding space.
export function weightOf(issuer: string | undefined, trust: VexTrustWeights): number {
  const key = issuer?.trim().toLowerCase();
  const named = trust.issuers.find((entry) => entry.issuer.trim().toLowerCase() === key);

  return named?.weight ?? trust.defaultWeight;
}

// Keeps each voter's newest statement; answers whether some voter's newest time held
// statements of different statuses (so that precedence, not time, chose between them).
function markSuperseded(votes: Vote[]): boolean {
  const newest = new Map<string, Vote>();
  for (const vote of votes.filter((v) => v.role === undefined)) {
    const best = newest.get(vote.voter);
    if (!best || newer(vote.statement, best.statement) > 0) {
      newest.set(vote.voter, vote);
    }
  }
  let conflict = false;
  for (const vote of votes) {
    const kept = newest.get(vote.voter);
    if (vote.role !== undefined || kept === vote) {
      continue;
    }
    vote.role = 'superseded';
    const sameTime = timeOf(vote.statement) === timeOf(kept!.statement);
    conflict ||= sameTime && vote.statement.status !== kept!.statement.status;
  }

  return conflict;
}

// Later timestamp first; at the same time the higher precedence; then the smaller ref.
function newer(a: VexStatementRef, b: VexStatementRef): number {
  const [x, y] = [timeOf(a), timeOf(b)];
  if (x !== y) {
    return x > y ? 1 : -1;
  }

  return precedence(a) - precedence(b) || (a.ref < b.ref ? 1 : a.ref > b.ref ? -1 : 0);
}

function timeOf(statement: VexStatementRef): number {
  const time = statement.timestamp ? Date.parse(statement.timestamp) : Number.NaN;

  return Number.isNaN(time) ? Number.NEGATIVE_INFINITY : time;
}

export function isJustified(statement: Pick<VexStatementRef, 'justification' | 'impactStatement'>) {
  return Boolean(statement.justification || statement.impactStatement);
}

function precedence(statement: VexStatementRef): number {
  return statusRank(statement.status, isJustified(statement));
}

function statusRank(status: VexStatus, justified: boolean): number {
  switch (status) {
    case 'fixed':
      return 4;
    case 'not_affected':
      return justified ? 3 : 1;
    case 'affected':
      return 2;
    default:
      return 0;
  }
}

function tally(votes: Vote[]): Partial<Record<VexStatus, number>> {
  const weights: Partial<Record<VexStatus, number>> = {};
  for (const vote of votes) {
    const status = vote.statement.status;
    weights[status] = round((weights[status] ?? 0) + vote.weight);
  }

  return weights;
}

function decide(votes: Vote[], weights: Partial<Record<VexStatus, number>>) {
  const statuses = Object.keys(weights) as VexStatus[];
  if (statuses.length === 0) {
    return { status: 'unknown' as const, resolvedBy: 'no_trusted_statement' as const };
  }
  if (statuses.length === 1) {
    return { status: statuses[0], resolvedBy: 'unanimous' as const };
  }
  const rankOf = (status: VexStatus) =>
    statusRank(
      status,
      votes.some((v) => v.statement.status === status && isJustified(v.statement)),
    );
  const ordered = statuses.sort((a, b) => weights[b]! - weights[a]! || rankOf(b) - rankOf(a));
  const tied = weights[ordered[0]] === weights[ordered[1]];

  return { status: ordered[0], resolvedBy: tied ? ('precedence' as const) : ('weight' as const) };
}

// The justification of the heaviest agreeing statement, when the outcome is not_affected.
function justificationOf(votes: Vote[], status: ConsensusStatus): { justification?: string } {
  if (status !== 'not_affected') {
    return {};
  }
  const justified = votes
    .filter((v) => v.statement.status === status && v.statement.justification)
    .sort((a, b) => b.weight - a.weight || byRef(a.statement, b.statement));

  return justified.length ? { justification: justified[0].statement.justification } : {};
}

function contribution(vote: Vote): ContributingStatement {
  const { statement } = vote;
  const optional = {
    ...(statement.issuer !== undefined ? { issuer: statement.issuer } : {}),
    ...(statement.justification !== undefined ? { justification: statement.justification } : {}),
    ...(statement.timestamp !== undefined ? { timestamp: statement.timestamp } : {}),
    ...(statement.versionState !== undefined ? { versionState: statement.versionState } : {}),
  };

  return {
    ref: statement.ref,
    documentSha256: statement.documentSha256,
    status: statement.status,
    ...optional,
    weight: vote.weight,
    role: vote.role!,
  };
}

function byRef(a: { ref: string }, b: { ref: string }): number {
  return a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0;
}

// Weights are sums of decimals; rounding keeps 0.1 + 0.2 from printing as 0.30000000000000004.
function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
