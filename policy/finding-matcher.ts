import { createHash } from 'node:crypto';
import { canonicalJson } from '../bundle/canonical-json.js';
import type { VexStatementRef } from '../consensus/vex-consensus.js';
import { versionStateFor, versionedRef } from '../consensus/vex-versions.js';
import type { AffectedPackage, NormalizedAdvisory, NormalizedVexStatement, VexVersionState } from '../domain/records.js';
import { advisoryFacts } from './advisory-facts.js';
import { FINDING_INPUT_SCHEMA, type AdvisoryFacts, type FindingInput } from './finding-input.js';
import { ecosystemKey, identityOfPurl, packageKey, versionlessPurl } from './package-identity.js';
import { comparerFor } from './version-compare/comparer-for.js';
import { describeInterval, matchAffected } from './version-compare/osv-range.js';
import type { VersionComparer } from './version-compare/version-comparer.js';

// Findings: SBOM components matched to advisories by ecosystem, package name and version
// range, each ecosystem's versions ordered its own way. One finding per component and
// advisory record (a GHSA and a PYSEC record of the same CVE are two findings, each
// carrying its aliases); when an advisory has several entries for the package, the first
// that holds the version is the match.

export interface MatchableComponent {
  sbomSubject: string;
  sbomDocumentSha256: string;
  ordinal: number;
  purl?: string;
  name: string;
  version?: string;
}

interface IndexedAdvisory {
  facts: AdvisoryFacts;
  entries: AffectedPackage[];
}

export class AdvisoryIndex {
  private readonly byPackage = new Map<string, IndexedAdvisory[]>();
  private newest = { time: Number.NEGATIVE_INFINITY, text: undefined as string | undefined };
  private sorted = true;

  add(advisory: NormalizedAdvisory, documentSha256: string): void {
    const facts = advisoryFacts(advisory, documentSha256);
    const byKey = new Map<string, AffectedPackage[]>();
    for (const entry of advisory.affected) {
      listAt(byKey, indexKey(entry.ecosystem, entry.name)).push(entry);
    }
    for (const [key, entries] of byKey) {
      listAt(this.byPackage, key).push({ facts, entries });
    }
    this.noteTime(advisory.modified ?? advisory.published);
    this.sorted = false;
  }

  // The newest modified (or published) time among the advisories: the evidence's own
  // clock, which `ageDays` is measured against so that no decision reads the wall clock.
  asOf(): string | undefined {
    return this.newest.text;
  }

  findingsFor(component: MatchableComponent, vex: VexIndex): FindingInput[] {
    const identity = component.purl ? identityOfPurl(component.purl) : null;
    const version = component.version ?? identity?.version;
    const comparer = identity ? comparerFor(identity.ecosystem) : null;
    if (!identity || !version || !comparer) {
      return [];
    }
    this.sortOnce();
    const candidates = this.byPackage.get(indexKey(identity.ecosystem, identity.name)) ?? [];

    return candidates.flatMap((candidate) => {
      const hit = firstMatch(candidate.entries, version, comparer);
      if (!hit) {
        return [];
      }
      const described = { ...identity, version, purl: component.purl! };
      const statements = vex.statementsFor(
        [candidate.facts.id, ...candidate.facts.aliases],
        { purl: described.purl, version, comparer },
        component.sbomSubject,
      );

      return [findingInput(component, described, candidate.facts, hit, statements)];
    });
  }

  private noteTime(text: string | undefined) {
    const time = text ? Date.parse(text) : Number.NaN;
    if (!Number.isNaN(time) && time > this.newest.time) {
      this.newest = { time, text };
    }
  }

  // Candidates in advisory id order (then document), whatever order they were added in.
  private sortOnce() {
    if (this.sorted) {
      return;
    }
    for (const list of this.byPackage.values()) {
      list.sort(
        (a, b) =>
          compareText(a.facts.id, b.facts.id) ||
          compareText(a.facts.documentSha256, b.facts.documentSha256),
      );
    }
    this.sorted = true;
  }
}

function indexKey(ecosystem: string, name: string): string {
  return `${ecosystemKey(ecosystem)}\u0000${packageKey(ecosystem, name)}`;
}

function firstMatch(entries: AffectedPackage[], version: string, comparer: VersionComparer) {
  for (const entry of entries) {
    const match = matchAffected(entry, version, comparer);
    if (match) {
      const range = match.interval ? describeInterval(match.interval) : `=${match.listed}`;

      return { range, ...(match.fixedIn !== undefined ? { fixedIn: match.fixedIn } : {}) };
    }
  }

  return null;
}

function findingInput(
  component: MatchableComponent,
  identity: { ecosystem: string; name: string; version: string; purl: string },
  facts: AdvisoryFacts,
  match: FindingInput['match'],
  vex: VexStatementRef[],
): FindingInput {
  return {
    schema: FINDING_INPUT_SCHEMA,
    findingId: findingIdOf(component, facts),
    sbom: { documentSha256: component.sbomDocumentSha256, subject: component.sbomSubject },
    component: {
      ordinal: component.ordinal,
      purl: identity.purl,
      name: component.name,
      version: identity.version,
      ecosystem: identity.ecosystem,
      package: identity.name,
    },
    advisory: facts,
    match,
    vex,
  };
}

// Stable across runs: the same component of the same SBOM document and the same advisory
// record always get the same id.
export function findingIdOf(component: MatchableComponent, facts: AdvisoryFacts): string {
  const key = [component.sbomDocumentSha256, component.ordinal, facts.id, facts.documentSha256];

  return createHash('sha256').update(canonicalJson(key)).digest('hex');
}

interface IndexedStatement {
  ref: VexStatementRef;
  product: string;
  subcomponents: string[];
  versions?: VexVersionState[];
}

// The component a finding is about, with the order of its ecosystem's versions.
export interface VexTarget {
  purl: string;
  version: string;
  comparer: VersionComparer;
}

// VEX statements by every vulnerability id they name (their own id and aliases).
export class VexIndex {
  private readonly byVulnerability = new Map<string, IndexedStatement[]>();

  add(statement: NormalizedVexStatement, documentSha256: string, ref: string): void {
    const indexed = {
      ref: statementRef(statement, documentSha256, ref),
      product: statement.product,
      subcomponents: statement.subcomponents,
      ...(statement.versions?.length ? { versions: statement.versions } : {}),
    };
    for (const id of new Set([statement.vulnerability, ...statement.aliases])) {
      listAt(this.byVulnerability, id).push(indexed);
    }
  }

  statementsFor(ids: string[], target: VexTarget, sbomSubject: string): VexStatementRef[] {
    const found = new Map<string, VexStatementRef>();
    for (const id of ids) {
      for (const entry of this.byVulnerability.get(id) ?? []) {
        const ref = refFor(entry, target, sbomSubject);
        if (ref) {
          found.set(ref.ref, ref);
        }
      }
    }

    return [...found.values()].sort((a, b) => compareText(a.ref, b.ref));
  }
}

// A statement naming the component with per-version states speaks for the component's
// version only through the entry that holds it; without such an entry it says nothing.
// Missing: per-version states of a statement about the SBOM's subject would need the
// subject's version, which the planned components do not carry, so such a statement
// applies as a whole.
function refFor(entry: IndexedStatement, target: VexTarget, sbomSubject: string) {
  const applies = appliesTo(entry, target.purl, sbomSubject);
  if (applies !== 'component' || !entry.versions) {
    return applies ? entry.ref : null;
  }
  const state = versionStateFor(entry.versions, target.version, target.comparer);

  return state ? versionedRef(entry.ref, state) : null;
}

export function statementRef(
  statement: NormalizedVexStatement,
  documentSha256: string,
  ref: string,
): VexStatementRef {
  const optional = {
    ...(statement.justification !== undefined ? { justification: statement.justification } : {}),
    ...(statement.impactStatement !== undefined
      ? { impactStatement: statement.impactStatement }
      : {}),
    ...(statement.issuer !== undefined ? { issuer: statement.issuer } : {}),
    ...(statement.timestamp !== undefined ? { timestamp: statement.timestamp } : {}),
  };

  return {
    ref,
    documentSha256,
    vulnerability: statement.vulnerability,
    product: statement.product,
    status: statement.status,
    ...optional,
  };
}

// A statement applies to the component it names, or to the SBOM's subject when it lists
// the component among its subcomponents. Missing: the SBOM subject's own purl is not kept
// at ingest, so the subject is recognised by name only.
function appliesTo(
  entry: IndexedStatement,
  purl: string,
  sbomSubject: string,
): 'component' | 'subject' | null {
  if (namesPackage(entry.product, purl)) {
    return 'component';
  }
  const viaSubject =
    entry.subcomponents.some((s) => namesPackage(s, purl)) &&
    namesSubject(entry.product, sbomSubject);

  return viaSubject ? 'subject' : null;
}

// A purl with a version names that version; without one it names every version. A
// CycloneDX BOM-link (urn:cdx:serial/version#ref) names the component whose bom-ref follows
// the '#', which tools usually set to its purl.
function namesPackage(product: string, purl: string): boolean {
  const named = product.startsWith('urn:cdx:') ? product.slice(product.indexOf('#') + 1) : product;
  if (named === purl) {
    return true;
  }
  if (!named.startsWith('pkg:') || versionlessPurl(named) !== versionlessPurl(purl)) {
    return false;
  }
  const version = identityOfPurl(named)?.version;

  return version === undefined || version === identityOfPurl(purl)?.version;
}

function namesSubject(product: string, subject: string): boolean {
  const base = versionlessPurl(product).toLowerCase();
  const name = subject.toLowerCase();

  return product === subject || base.endsWith(`/${name}`) || base === `pkg:golang/${name}`;
}

function listAt<T>(map: Map<string, T[]>, key: string): T[] {
  const list = map.get(key) ?? [];
  map.set(key, list);

  return list;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
