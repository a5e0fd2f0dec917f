import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { ManifestFile } from '../../../bundle/manifest.js';
import { provenanceProblems } from '../../../signing/provenance-check.js';

const FILES: ManifestFile[] = [
  { path: 'vex/normalized.jsonl.zst', sha256: 'aa'.repeat(32), size: 1, mediaType: 'x' },
  { path: 'sboms/a.cdx.json', sha256: 'bb'.repeat(32), size: 1, mediaType: 'x' },
  { path: 'provenance.json', sha256: 'cc'.repeat(32), size: 1, mediaType: 'x' },
];

function statement(subject: Array<{ name: string; sha256: string }>): string {
  return JSON.stringify({
    _type: 'https://in-toto.io/Statement/v1',
    subject: subject.map(({ name, sha256 }) => ({ name, digest: { sha256 } })),
  });
}

const EXACT = [
  { name: 'vex/normalized.jsonl.zst', sha256: 'aa'.repeat(32) },
  { name: 'sboms/a.cdx.json', sha256: 'bb'.repeat(32) },
];

describe('provenanceProblems', () => {
  describe('when the subjects are the manifest files without provenance.json', () => {
    it('returns no problems', () => {
      assert.deepEqual(provenanceProblems(statement(EXACT), FILES), []);
    });
  });

  describe('when a subject digest differs', () => {
    it('returns a problem for that path', () => {
      const subjects = [EXACT[0], { ...EXACT[1], sha256: 'dd'.repeat(32) }];

      const problems = provenanceProblems(statement(subjects), FILES);

      assert.deepEqual(problems.map((p) => p.path), ['sboms/a.cdx.json']);
      assert.match(problems[0].message, /digest .* differs/);
    });
  });

  describe('when a subject is not in the manifest, or is provenance.json itself', () => {
    it('returns a problem for each', () => {
      const subjects = [
        ...EXACT,
        { name: 'extra.bin', sha256: 'ee'.repeat(32) },
        { name: 'provenance.json', sha256: 'cc'.repeat(32) },
      ];

      const problems = provenanceProblems(statement(subjects), FILES);

      assert.deepEqual(problems.map((p) => p.path), ['extra.bin', 'provenance.json']);
    });
  });

  describe('when the document is not an in-toto statement', () => {
    it('returns one problem on provenance.json', () => {
      const problems = provenanceProblems('{"subject":[]}', FILES);

      assert.deepEqual(problems.map((p) => p.path), ['provenance.json']);
      assert.match(problems[0].message, /not an in-toto statement/);
    });
  });
});
