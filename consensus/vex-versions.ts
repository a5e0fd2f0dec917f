import type { VexStatus, VexVersionState } from '../domain/records.js';
import { versRangeContains } from '../policy/version-compare/vers-range.js';
import type { VersionComparer } from '../policy/version-compare/version-comparer.js';
import type { VexStatementRef } from './vex-consensus.js';

// CycloneDX VEX scopes an analysis to versions of the product (`affects[].versions[]`),
// each version or range with its own status: whether that version contains the
// vulnerability at all. The analysis says what it means where it is present. Where a
// product version is known (a component in an SBOM, or one entry of those states), a
// statement votes what it says about that version:
//
// - unaffected → not_affected: the version does not contain the vulnerable code;
// - affected → the analysis status ("resolved" for an affected version means fixed there,
//   "not_affected" means present but not exploitable, as in the CycloneDX 1.6 example);
// - unknown → no claim about that version: the statement does not vote for it.
//
// The vote keeps the statement's ref (the hash of its unchanged line) and names the entry
// it read; the justification is kept only when the vote is the analysis status itself.

export function versionVote(stated: VexStatus, state: VexVersionState): VexStatus | null {
  switch (state.status) {
    case 'unaffected':
      return 'not_affected';
    case 'affected':
      return stated;
    default:
      return null;
  }
}

// The statement as it votes for one of its version entries; null when it makes no claim.
export function versionedRef(
  ref: VexStatementRef,
  state: VexVersionState,
): VexStatementRef | null {
  const status = versionVote(ref.status, state);
  if (status === null) {
    return null;
  }
  const { justification, impactStatement, ...rest } = ref;
  const reasons = status === ref.status ? { justification, impactStatement } : {};

  return dropAbsent({ ...rest, ...reasons, status, versionState: state });
}

// The version (or vers range) an entry names: the key consensus groups its votes under.
export function versionKeyOf(state: VexVersionState): string {
  return state.version ?? state.range ?? '';
}

// The first entry, in document order, that holds the version; null when none does, in
// which case the statement says nothing about that version.
export function versionStateFor(
  states: VexVersionState[],
  version: string,
  comparer: VersionComparer | null,
): VexVersionState | null {
  return states.find((state) => holdsVersion(state, version, comparer)) ?? null;
}

function holdsVersion(
  state: VexVersionState,
  version: string,
  comparer: VersionComparer | null,
): boolean {
  if (state.version !== undefined) {
    const { version: named } = state;
    const comparable = comparer && comparer.isValid(named) && comparer.isValid(version);

    return comparable ? comparer.compare(named, version) === 0 : named === version;
  }

  return comparer !== null && versRangeContains(state.range ?? '', version, comparer) === true;
}

function dropAbsent<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as T;
}
