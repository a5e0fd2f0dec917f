// provenance.json must name exactly the bundle's data files: its in-toto subjects (name +
// sha256) equal the manifest's file list without provenance.json itself.
import type { ManifestFile } from '../bundle/manifest.js';
import { PROVENANCE_PATH } from '../bundle/manifest.js';

export interface ProvenanceProblem {
  path: string;
  message: string;
}

// in-toto Statement layer: v1 is current, v0.1 is still produced by older builders.
const STATEMENT_TYPES = [
  'https://in-toto.io/Statement/v1',
  'https://in-toto.io/Statement/v0.1',
];

// `listedPaths` also holds malformed manifest entries (already reported as `manifest`
// failures); subjects naming them are not reported again.
export function provenanceProblems(
  text: string,
  files: readonly ManifestFile[],
  listedPaths: ReadonlySet<string> = new Set(files.map((file) => file.path)),
): ProvenanceProblem[] {
  const statement = parseStatement(text);
  if (typeof statement === 'string') return [{ path: PROVENANCE_PATH, message: statement }];

  const subjects = subjectDigests(statement.subject);
  if (typeof subjects === 'string') return [{ path: PROVENANCE_PATH, message: subjects }];

  const expected = new Map(
    files.filter((file) => file.path !== PROVENANCE_PATH).map((file) => [file.path, file.sha256]),
  );

  const missing = missingSubjects(expected, subjects);

  return [...missing, ...extraSubjects(listedPaths, subjects)];
}

function parseStatement(text: string): { subject: unknown } | string {
  let statement: unknown;
  try {
    statement = JSON.parse(text);
  } catch {
    return 'provenance.json is not JSON';
  }
  const record = statement as Record<string, unknown> | null;
  const isStatement = typeof record === 'object' && record !== null &&
    STATEMENT_TYPES.includes(String(record._type));
  if (!isStatement) {
    return 'provenance.json is not an in-toto statement (_type)';
  }

  return { subject: record.subject };
}

function subjectDigests(subject: unknown): Map<string, string> | string {
  if (!Array.isArray(subject)) return 'provenance.json has no subject array';

  const digests = new Map<string, string>();
  for (const [index, entry] of subject.entries()) {
    const name: unknown = entry?.name;
    const sha256: unknown = entry?.digest?.sha256;
    if (typeof name !== 'string' || typeof sha256 !== 'string') {
      return `provenance.json subject[${index}] lacks a name or a sha256 digest`;
    }
    if (digests.has(name)) return `provenance.json names subject ${name} twice`;
    digests.set(name, sha256.toLowerCase());
  }

  return digests;
}

function missingSubjects(expected: Map<string, string>, subjects: Map<string, string>) {
  const problems: ProvenanceProblem[] = [];
  for (const [path, sha256] of expected) {
    const digest = subjects.get(path);
    if (digest === undefined) {
      problems.push({ path, message: `${path} is in the manifest but not a provenance subject` });
    } else if (digest !== sha256.toLowerCase()) {
      const message = `the provenance digest of ${path} differs from the manifest`;
      problems.push({ path, message });
    }
  }

  return problems;
}

function extraSubjects(listedPaths: ReadonlySet<string>, subjects: Map<string, string>) {
  return [...subjects.keys()]
    .filter((name) => name === PROVENANCE_PATH || !listedPaths.has(name))
    .map((path) => ({ path, message: `${path} is a provenance subject, not a manifest file` }));
}
