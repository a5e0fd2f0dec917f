import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { StellaError } from '../../../domain/errors.js';
import { parsePolicySnapshot } from '../../../policy/policy-snapshot.js';
import { FIXTURES } from '../../support/export-stack.js';

const POLICY = path.join(FIXTURES, 'policies', 'pol-v1.0.0.yaml');

function rejects(text: string, pattern: RegExp) {
  assert.throws(
    () => parsePolicySnapshot(text),
    (err: StellaError) => err.code === 'malformed_document' && pattern.test(err.message),
  );
}

describe('parsePolicySnapshot', () => {
  describe('when the document follows the format', () => {
    it('returns the rules in document order with trust defaults filled in', async () => {
      const policy = parsePolicySnapshot(await readFile(POLICY, 'utf8'));

      assert.equal(policy.version, 'pol-v1.0.0');
      assert.deepEqual(
        policy.rules.map((r) => r.id),
        ['vex-cleared', 'critical-fixable', 'high-fixable', 'medium-or-low'],
      );
      assert.deepEqual(policy.vex, {
        defaultWeight: 0.5,
        issuers: [{ issuer: 'Stella Fixture Vendor', weight: 1 }],
      });
      assert.deepEqual(policy.rules[1].when, { severity: ['CRITICAL'], fixAvailable: true });
    });

    it('returns MODERATE read as MEDIUM', async () => {
      const text = (await readFile(POLICY, 'utf8')).replace('[MEDIUM, LOW]', '[moderate, LOW]');

      assert.deepEqual(parsePolicySnapshot(text).rules[3].when.severity, ['MEDIUM', 'LOW']);
    });
  });

  describe('when the document breaks the format', () => {
    it('throws malformed_document for YAML that does not parse', () => {
      rejects('rules: [\n', /not valid YAML/);
    });

    it('throws malformed_document for a version not like pol-v1.2.3', async () => {
      rejects(
        (await readFile(POLICY, 'utf8')).replace('pol-v1.0.0', '1.0.0'),
        /version: a version like pol-v1\.8\.2/,
      );
    });

    it('throws malformed_document for an unknown condition (a typo never widens a rule)', async () => {
      rejects(
        (await readFile(POLICY, 'utf8')).replace('fixAvailable: true', 'fixavailable: true'),
        /fixavailable/,
      );
    });

    it('throws malformed_document for a rule id used twice', async () => {
      rejects(
        (await readFile(POLICY, 'utf8')).replace('id: high-fixable', 'id: critical-fixable'),
        /used twice/,
      );
    });

    it('throws malformed_document for an unknown template variable', async () => {
      rejects(
        (await readFile(POLICY, 'utf8')).replace('{{fixedIn}}', '{{fix}}'),
        /unknown template variable \{\{fix\}\}/,
      );
    });

    it('throws malformed_document for a risk score above 100', async () => {
      rejects(
        (await readFile(POLICY, 'utf8')).replace('riskScore: 95', 'riskScore: 195'),
        /riskScore/,
      );
    });
  });
});
