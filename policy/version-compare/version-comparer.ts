// One ecosystem's version ordering. `parse` answers null for a string the ecosystem does
// not accept as a version, so callers can tell "not comparable" apart from "lower".
export interface VersionComparer {
  ecosystem: string;
  isValid(version: string): boolean;
  // Negative, zero or positive like Array.prototype.sort; both versions must be valid.
  compare(a: string, b: string): number;
}
