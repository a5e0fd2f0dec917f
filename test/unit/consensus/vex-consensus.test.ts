import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import {
  consensusChanges,
  consensusRecords,
  type VexConsensusRecord,
} from '../../../consensus/consensus-records.js';
import {
  consensusOf,
  type VexStatementRef,
  type VexTrustWeights,
} from '../../../consensus/vex-consensus.js';
import { collectDocumentPaths } from '../../../ingest/collect-files.js';
import { parseDocument } from '../../../ingest/parse-document.js';
import { consensusRefsOfLine } from '../../../policy/evaluate-run.js';
import { sha256Hex, vexLine } from '../../../store/evidence-store.js';
import { EVIDENCE } from '../../support/export-stack.js';

const TRUST: VexTrustWeights = { defaultWeight: 0.5, issuers: [] };

// Every vote of the real VEX fixtures' statements, as the json:policy adapter reads them:
// one per statement, or one per version entry of a CycloneDX statement.
async function fixtureStatements(): Promise<{
  refs: VexStatementRef[];
  shaOf: Map<string, string>;
}> {
  const refs: VexStatementRef[] = [];
  const shaOf = new Map<string, string>();
  for await (const file of collectDocumentPaths([path.join(EVIDENCE, 'vex')])) {
    const bytes = await readFile(file);
    const sha = sha256Hex(bytes);
    shaOf.set(path.relative(path.join(EVIDENCE, 'vex'), file), sha);
    for (const statement of parseDocument(bytes, file).vexStatements) {
      refs.push(...consensusRefsOfLine(vexLine(statement, sha)));
    }
  }

  return { refs, shaOf };
}

function find(
  records: VexConsensusRecord[],
  vulnerability: string,
  product: string,
  scope?: string,
  productVersion?: string,
) {
  const found = records.filter(
    (r) =>
      r.vulnerability === vulnerability &&
      r.product === product &&
      r.scope === scope &&
      r.productVersion === productVersion,
  );
  assert.equal(found.length, 1, `${vulnerability} ${product} ${scope} ${productVersion}`);

  return found[0];
}

const roles = (record: VexConsensusRecord) =>
  record.statements.map((s) => `${s.status}:${s.role}`).sort();

describe('consensusRecords over the real VEX fixtures', () => {
  let fixtures: Awaited<ReturnType<typeof fixtureStatements>>;
  let records: VexConsensusRecord[];

  before(async () => {
    fixtures = await fixtureStatements();
    records = consensusRecords(fixtures.refs, TRUST);
  });

  describe('when one issuer updates its statement (OpenVEX document1 → document2)', () => {
    it('returns the newer status, fixed, with the older statement superseded', () => {
      const record = find(records, 'CVE-1234-5678', 'pkg:apk/wolfi/bash@1.0.0');

      assert.equal(record.status, 'fixed');
      assert.equal(record.resolvedBy, 'unanimous');
      assert.deepEqual(roles(record), ['fixed:agrees', 'under_investigation:superseded']);
    });
  });

  describe('when an issuer repeats itself a day later (OpenVEX sample-history and sample-2vulns)', () => {
    it('returns not_affected with its justification, the two older copies superseded', () => {
      const nginx =
        'pkg:oci/nginx@sha256:13d22ec63300e16014d4a42aed735207a8b33c223cff19627dd3042e5a10a3a0';
      const record = find(records, 'CVE-2023-27103', nginx);

      assert.equal(record.status, 'not_affected');
      assert.equal(record.justification, 'component_not_present');
      assert.deepEqual(roles(record), [
        'not_affected:agrees',
        'not_affected:superseded',
        'not_affected:superseded',
      ]);
      assert.equal(
        record.statements.find((s) => s.role === 'agrees')?.timestamp,
        '2023-08-17T01:55:22.076684217Z',
      );
      assert.equal(find(records, 'CVE-2007-5686', nginx).status, 'fixed');
    });
  });

  describe('when one issuer says affected, fixed and not_affected at the same instant (CSAF use cases)', () => {
    it('returns fixed by precedence, grouping the local product id under that issuer', () => {
      const record = find(
        records,
        'CVE-2021-44228',
        'CSAFPID-0001',
        'issuer:Example Company ProductCERT',
      );

      assert.equal(record.status, 'fixed');
      assert.equal(record.resolvedBy, 'precedence');
      assert.deepEqual(roles(record), [
        'affected:superseded',
        'fixed:agrees',
        'not_affected:superseded',
      ]);
    });
  });

  describe('when another issuer uses the same local product id (Secvisogram CSAFPID-0001)', () => {
    it('returns its own record, not_affected, not merged with Example Company', () => {
      const record = find(records, 'CVE-2021-44228', 'CSAFPID-0001', 'issuer:Secvisogram');

      assert.equal(record.status, 'not_affected');
      assert.equal(record.justification, 'component_not_present');
      assert.equal(record.statements.length, 1);
      assert.equal(
        find(records, 'CVE-2021-45105', 'CSAFPID-0001', 'issuer:Secvisogram').status,
        'not_affected',
      );
    });
  });

  describe('when a CycloneDX document scopes its analyses to versions (CISA Case-7)', () => {
    // Read by hand from Case-7/vex.json: each affects[].versions[] entry is a record of its
    // own; "unaffected" entries vote not_affected, the others the analysis state.
    const ABC = 'urn:cdx:cbb2cd68-2857-43b8-a10b-e8c03d277d18/1#product-ABC';
    const JKL = 'urn:cdx:e4c3eedc-4978-470c-ad02-6ffff63738ff/1#product-JKL';
    const outcome = (product: string, version: string) => {
      const record = find(records, 'CVE-2021-44228', product, undefined, version);

      return [record.status, record.justification ?? null, record.resolvedBy];
    };

    it('returns affected for the ABC versions the exploitable analysis lists', () => {
      for (const version of ['2.4', '2.6', 'vers:generic/>=2.9|<=4.1']) {
        assert.deepEqual(outcome(ABC, version), ['affected', null, 'unanimous'], version);
      }
    });

    it('returns not_affected with code_not_present for the unaffected ABC versions', () => {
      const versions = ['vers:generic/>=1.0|<=2.3', '2.5', 'vers:generic/>=2.7|<=2.8', '4.2'];
      for (const version of versions) {
        assert.deepEqual(
          outcome(ABC, version),
          ['not_affected', 'code_not_present', 'unanimous'],
          version,
        );
      }
    });

    it('returns affected, not_affected and fixed for the three JKL entries', () => {
      assert.deepEqual(outcome(JKL, 'vers:generic/>=4.5|<=5.0'), ['affected', null, 'unanimous']);
      assert.deepEqual(outcome(JKL, 'vers:generic/>=1.0|<=4.4'), [
        'not_affected',
        'code_not_present',
        'unanimous',
      ]);
      assert.deepEqual(outcome(JKL, '5.1'), ['fixed', null, 'unanimous']);
    });

    it('returns no record for ABC or JKL as a whole, and names the entry each vote read', () => {
      const cases = records.filter((r) => r.product === ABC || r.product === JKL);

      assert.equal(cases.length, 10);
      assert.ok(cases.every((r) => r.productVersion !== undefined));
      const fixed = find(records, 'CVE-2021-44228', JKL, undefined, '5.1');

      assert.deepEqual(fixed.statements[0].versionState, { version: '5.1', status: 'affected' });
    });
  });

  describe('when statements carry no issuer (CISA Case-1)', () => {
    it('returns one record per document for local product ids', () => {
      const affectedSha = fixtures.shaOf.get('cyclonedx/CISA-Use-Cases/Case-1/vex-affected.json');
      const notAffectedSha = fixtures.shaOf.get(
        'cyclonedx/CISA-Use-Cases/Case-1/vex-not_affected.json',
      );

      assert.equal(
        find(records, 'CVE-2021-44228', 'product-DEF', `document:${affectedSha}`).status,
        'affected',
      );
      assert.equal(
        find(records, 'CVE-2021-44228', 'product-ABC', `document:${notAffectedSha}`).status,
        'not_affected',
      );
    });
  });

  describe('when one statement names three image repositories (OpenVEX oci)', () => {
    it('returns one not_affected record per repository', () => {
      const busybox = records.filter((r) => r.vulnerability === 'CVE-2023-42363');

      assert.equal(busybox.length, 3);
      assert.ok(busybox.every((r) => r.status === 'not_affected' && r.scope === undefined));
    });
  });

  describe('listing', () => {
    it('returns every input vote exactly once, referenced by the hash of its line', () => {
      const listed = records.flatMap((r) => r.statements.map((s) => s.ref)).sort();

      assert.deepEqual(listed, fixtures.refs.map((s) => s.ref).sort());
    });

    it('returns records ordered by vulnerability, product and scope', () => {
      const keys = records.map((r) => [r.vulnerability, r.product, r.scope ?? ''].join('\u0000'));

      assert.deepEqual(keys, [...keys].sort());
    });

    it('leaves the statements unchanged and gives the same records for shuffled input', () => {
      const copy = structuredClone(fixtures.refs);
      const again = consensusRecords([...fixtures.refs].reverse(), TRUST);

      assert.deepEqual(fixtures.refs, copy);
      assert.deepEqual(again, records);
    });
  });

  describe('when the policy gives an issuer weight 0', () => {
    it('returns unknown with its statements untrusted, and reports the change', () => {
      const distrust = { defaultWeight: 0.5, issuers: [{ issuer: 'john doe', weight: 0 }] };
      const after = consensusRecords(fixtures.refs, distrust);
      const record = find(after, 'CVE-1234-5678', 'pkg:apk/wolfi/bash@1.0.0');

      assert.deepEqual([record.status, record.resolvedBy], ['unknown', 'no_trusted_statement']);
      assert.deepEqual(roles(record), ['fixed:untrusted', 'under_investigation:untrusted']);
      assert.deepEqual(consensusChanges(records, after), [
        {
          vulnerability: 'CVE-1234-5678',
          product: 'pkg:apk/wolfi/bash@1.0.0',
          before: 'fixed',
          after: 'unknown',
        },
      ]);
    });
  });
});

function statement(ref: string, fields: Partial<VexStatementRef>): VexStatementRef {
  return {
    ref,
    documentSha256: ref.repeat(2),
    vulnerability: 'CVE-1',
    product: 'pkg:npm/x@1',
    status: 'affected',
    ...fields,
  };
}

describe('consensusOf', () => {
  describe('when a trusted issuer and a weaker one disagree', () => {
    it('returns the heavier status by weight, the other dissenting', () => {
      const trust = { defaultWeight: 0.2, issuers: [{ issuer: 'Vendor', weight: 1 }] };
      const result = consensusOf(
        [
          statement('a', { issuer: 'Vendor', status: 'affected' }),
          statement('b', { issuer: 'Scanner', status: 'fixed' }),
        ],
        trust,
      );

      assert.deepEqual([result.status, result.resolvedBy], ['affected', 'weight']);
      assert.deepEqual(result.weights, { affected: 1, fixed: 0.2 });
      assert.deepEqual(
        result.statements.map((s) => s.role),
        ['agrees', 'dissents'],
      );
    });
  });

  describe('when weights tie', () => {
    it('returns justified not_affected over affected, and affected over unjustified not_affected', () => {
      const justified = consensusOf(
        [
          statement('a', { issuer: 'A', status: 'affected' }),
          statement('b', {
            issuer: 'B',
            status: 'not_affected',
            justification: 'inline_mitigations_already_exist',
          }),
        ],
        TRUST,
      );
      const bare = consensusOf(
        [
          statement('a', { issuer: 'A', status: 'affected' }),
          statement('b', { issuer: 'B', status: 'not_affected' }),
        ],
        TRUST,
      );

      assert.deepEqual([justified.status, justified.resolvedBy], ['not_affected', 'precedence']);
      assert.equal(justified.justification, 'inline_mitigations_already_exist');
      assert.deepEqual([bare.status, bare.resolvedBy], ['affected', 'precedence']);
    });
  });

  describe('when several issuers agree', () => {
    it('returns their summed weight', () => {
      const result = consensusOf(
        [
          statement('a', { issuer: 'A', status: 'not_affected', impactStatement: 'not used' }),
          statement('b', { issuer: 'B', status: 'not_affected', impactStatement: 'not used' }),
          statement('c', { issuer: 'C', status: 'affected' }),
        ],
        { defaultWeight: 0.1, issuers: [] },
      );

      assert.deepEqual(result.weights, { not_affected: 0.2, affected: 0.1 });
      assert.equal(result.status, 'not_affected');
    });
  });
});
