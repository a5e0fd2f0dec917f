import { compare, valid } from '@renovatebot/pep440';
import type { VersionComparer } from './version-comparer.js';

// PEP 440: "3.2" equals "3.2.0", pre/post/dev releases and epochs order as the spec says.
export const pypiComparer: VersionComparer = {
  ecosystem: 'PyPI',
  isValid: (version) => valid(version) !== null,
  compare: (a, b) => Math.sign(compare(a, b)),
};
