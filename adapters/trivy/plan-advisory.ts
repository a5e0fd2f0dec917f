// One NormalizedAdvisory → the bbolt entries it contributes (docs/formats/trivy-db.md 5.1 and 8):
//   <eco>::<source name> / <normalised package> / <vulnerability ID> → advisory JSON
//   vulnerability / <vulnerability ID> → detail (merged later with other advisories' parts)
// Keys follow trivy-db's OSV rule: the CVE aliases when there are any, else the advisory ID;
// the remaining IDs become VendorIDs.
import { StellaError } from '../../domain/errors.js';
import type { AffectedPackage, NormalizedAdvisory } from '../../domain/records.js';
import {
  SOURCE_RANK,
  type TrivyDataSource,
  dataSourceFor,
  trivyEcosystemFor,
} from './ecosystems.js';
import { toTrivyVersions } from './version-constraints.js';
import { type VulnerabilityContribution, contributionOf } from './vulnerability-detail.js';

export const VULNERABILITY_BUCKET = 'vulnerability';
export const DATA_SOURCE_BUCKET = 'data-source';

export interface TrivyAdvisoryValue {
  VendorIDs?: string[];
  VulnerableVersions: string[];
  PatchedVersions?: string[];
}

export type PlannedRecord =
  | { path: string[]; advisory: TrivyAdvisoryValue; advisoryId: string }
  | { path: string[]; vulnerability: VulnerabilityContribution };

export interface AdvisoryPlan {
  records: PlannedRecord[];
  dataSources: Map<string, TrivyDataSource>;
  unsupportedEcosystems: Set<string>;
}

interface PackageTarget {
  bucket: string;
  pkg: string;
  vulnerable: string[];
  patched: string[];
}

export function planAdvisory(advisory: NormalizedAdvisory): AdvisoryPlan {
  const plan: AdvisoryPlan = {
    records: [],
    dataSources: new Map(),
    unsupportedEcosystems: new Set(),
  };
  const targets = packageTargets(advisory, plan);
  if (targets.length === 0) return plan;

  const { keys, vendorIds } = vulnerabilityKeys(advisory);
  const source = plan.dataSources.values().next().value as TrivyDataSource;
  const contribution = contributionOf(advisory, SOURCE_RANK[advisory.source], source.ID);
  for (const key of keys) {
    for (const t of targets) plan.records.push(advisoryRecord(advisory.id, t, key, vendorIds));
    plan.records.push({ path: [VULNERABILITY_BUCKET, key], vulnerability: contribution });
  }

  return plan;
}

// One target per (bucket, package); several affected entries for a package add up.
function packageTargets(advisory: NormalizedAdvisory, plan: AdvisoryPlan): PackageTarget[] {
  const targets = new Map<string, PackageTarget>();
  advisory.affected.forEach((affected, i) => {
    const located = locate(advisory, affected, i, plan);
    if (!located) return;

    const versions = toTrivyVersions(affected, `affected[${i}]`);
    const id = `${located.bucket}\u0000${located.pkg}`;
    const target = targets.get(id) ?? { ...located, vulnerable: [], patched: [] };
    target.vulnerable.push(...versions.vulnerable);
    target.patched.push(...versions.patched);
    targets.set(id, target);
  });

  return [...targets.values()];
}

function locate(
  advisory: NormalizedAdvisory,
  affected: AffectedPackage,
  i: number,
  plan: AdvisoryPlan,
): { bucket: string; pkg: string } | null {
  const ecosystem = trivyEcosystemFor(affected.ecosystem);
  if (!ecosystem) {
    plan.unsupportedEcosystems.add(affected.ecosystem);
    return null;
  }

  const source = dataSourceFor(advisory.source, ecosystem);
  if (!source) unrepresentable('source', advisory.source);

  const bucket = `${ecosystem.prefix}::${source.Name}`;
  plan.dataSources.set(bucket, source);

  return {
    bucket,
    pkg: checkKey(ecosystem.normalizeName(affected.name), `affected[${i}].package.name`),
  };
}

function vulnerabilityKeys(advisory: NormalizedAdvisory): { keys: string[]; vendorIds: string[] } {
  const ids = [...new Set([advisory.id, ...advisory.aliases])];
  ids.forEach((id, i) => checkKey(id, i === 0 ? 'id' : 'aliases'));
  const cves = ids.filter((id) => id.startsWith('CVE-'));
  if (cves.length === 0) return { keys: [advisory.id], vendorIds: ids.slice(1).sort() };

  return { keys: cves.sort(), vendorIds: ids.filter((id) => !id.startsWith('CVE-')).sort() };
}

function advisoryRecord(
  advisoryId: string,
  target: PackageTarget,
  key: string,
  vendorIds: string[],
): PlannedRecord {
  const patched = [...new Set(target.patched)];
  const advisory: TrivyAdvisoryValue = {
    VendorIDs: vendorIds.length > 0 ? vendorIds : undefined,
    VulnerableVersions: [...new Set(target.vulnerable)],
    PatchedVersions: patched.length > 0 ? patched : undefined,
  };

  return { path: [target.bucket, target.pkg, key], advisory, advisoryId };
}

// Path components are joined with NUL for sorting, and bbolt keys cannot be empty.
function checkKey(value: string, field: string): string {
  if (value === '' || value.includes('\u0000')) unrepresentable(field, value);

  return value;
}

function unrepresentable(field: string, value: string): never {
  throw new StellaError(
    'schema_mismatch',
    `Trivy DB mapping cannot represent ${field} (${JSON.stringify(value)})`,
    { details: { field, value } },
  );
}
