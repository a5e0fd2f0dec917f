import type { VersionComparer } from './version-comparer.js';

// Maven's version order (the "Version Order Specification" of Maven 3, ComparableVersion):
// tokens split on '.', '-' and digit/letter transitions; numbers compare as numbers;
// qualifiers order alpha < beta < milestone < rc < snapshot < release < sp < anything else
// (lexically); trailing zeros and release qualifiers do not count, so 1 == 1.0 == 1.0-ga.
// The newer "combination item" rule for tokens like "a1" inside one segment is not
// implemented: such tokens split at the transition as older Maven releases did.
export const mavenComparer: VersionComparer = {
  ecosystem: 'Maven',
  isValid: (version) => version.length > 0 && !/\s/.test(version),
  compare: (a, b) => Math.sign(compareItems(parseMaven(a), parseMaven(b))),
};

type Item = bigint | Qualifier | Item[];

interface Qualifier {
  qualifier: string;
}

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const ALIASES: Record<string, string> = { ga: '', final: '', release: '', cr: 'rc' };
const SHORT: Record<string, string> = { a: 'alpha', b: 'beta', m: 'milestone' };

export function parseMaven(version: string): Item[] {
  const text = version.toLowerCase();
  const root: Item[] = [];
  const lists = [root];
  let list = root;
  let start = 0;
  let isDigit = false;
  const open = () => {
    const next: Item[] = [];
    list.push(next);
    lists.push(next);
    list = next;
  };
  const token = (end: number, followedByDigit = false) =>
    list.push(itemOf(text.slice(start, end), isDigit, followedByDigit));

  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '.' || c === '-') {
      list.push(i === start ? 0n : itemOf(text.slice(start, i), isDigit, false));
      start = i + 1;
      if (c === '-') open();
    } else if (c >= '0' && c <= '9') {
      if (!isDigit && i > start) {
        token(i, true);
        start = i;
        open();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        token(i);
        start = i;
        open();
      }
      isDigit = false;
    }
  }
  if (text.length > start) {
    token(text.length);
  }
  lists.reverse().forEach(trimNulls);

  return root;
}

function itemOf(token: string, isDigit: boolean, followedByDigit: boolean): Item {
  if (isDigit) {
    return BigInt(token);
  }
  const expanded = followedByDigit && token.length === 1 ? (SHORT[token] ?? token) : token;

  return { qualifier: ALIASES[expanded] ?? expanded };
}

function trimNulls(list: Item[]): void {
  for (let i = list.length - 1; i >= 0; i--) {
    if (isNull(list[i])) {
      list.splice(i, 1);
    } else if (!Array.isArray(list[i])) {
      break;
    }
  }
}

function isNull(item: Item): boolean {
  if (typeof item === 'bigint') {
    return item === 0n;
  }

  return Array.isArray(item) ? item.length === 0 : item.qualifier === '';
}

function rank(qualifier: string): string {
  const index = QUALIFIERS.indexOf(qualifier);

  return index >= 0 ? String(index) : `${QUALIFIERS.length}-${qualifier}`;
}

// An absent item (a shorter list) compares as the null of the other side's kind.
function compareItems(left: Item | undefined, right: Item | undefined): number {
  if (left === undefined) {
    return right === undefined ? 0 : -compareItems(right, undefined);
  }
  if (typeof left === 'bigint') {
    return compareNumber(left, right);
  }
  if (Array.isArray(left)) {
    return compareList(left, right);
  }

  return compareQualifier(left, right);
}

function compareNumber(left: bigint, right: Item | undefined): number {
  if (right === undefined) {
    return left === 0n ? 0 : 1;
  }
  if (typeof right !== 'bigint') {
    return 1;
  }

  return left < right ? -1 : left > right ? 1 : 0;
}

function compareQualifier(left: Qualifier, right: Item | undefined): number {
  if (right === undefined) {
    return compareText(rank(left.qualifier), rank(''));
  }
  if (typeof right === 'bigint' || Array.isArray(right)) {
    return -1;
  }

  return compareText(rank(left.qualifier), rank(right.qualifier));
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareList(left: Item[], right: Item | undefined): number {
  if (right === undefined) {
    return left.length === 0 ? 0 : compareItems(left[0], undefined);
  }
  if (typeof right === 'bigint') {
    return -1;
  }
  if (!Array.isArray(right)) {
    return 1;
  }
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const result = compareItems(left[i], right[i]);
    if (result !== 0) {
      return result;
    }
  }

  return 0;
}
