import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { bundlePaths } from '../../activities/bundle-paths.js';
import { sbomFileName } from '../../adapters/json/sbom-file-name.js';
import { objectKey, parseS3Target } from '../../distribution/objstore/s3-target.js';
import { parseOciReference } from '../../distribution/oci/reference.js';
import type { StellaError } from '../../domain/errors.js';
import { loadConfig } from '../../platform/config.js';
import { isValidTenant, newRunId } from '../../platform/ids.js';
import { startSecurityApp, type SecurityApp } from './security-app.js';

const TRAVERSALS = [
  '../../etc/passwd',
  '..\\..\\windows\\system32',
  '/etc/passwd',
  '．．／．．／etc', // full-width dots and solidus: NFKD turns them into ../
  'a/../../b',
  '%2e%2e%2f%2e%2e%2f',
  'C:\\evil',
  '\u0000../x',
  '..',
  '.',
  '',
];

describe('path-like inputs', { timeout: 60_000 }, () => {
  describe('sbomFileName', () => {
    it('returns one plain file name inside the bundle folder for any subject', () => {
      const subjects = fc.oneof(
        fc.constantFrom(...TRAVERSALS),
        fc.string({ unit: 'binary', maxLength: 200 }),
      );
      fc.assert(
        fc.property(subjects, fc.constantFrom('spdx', 'cyclonedx'), (subject, format) => {
          const name = sbomFileName({ subject, format, documentSha256: 'ab'.repeat(32) });
          const folder = path.resolve('/bundle/sboms');

          assert.equal(path.dirname(path.resolve(folder, name)), folder, name);
          assert.match(name, /^[a-z0-9_][a-z0-9._-]*\.(spdx|cdx)\.json$/, name);
        }),
        { numRuns: 2_000 },
      );
    });
  });

  describe('bundlePaths', () => {
    it('returns folders under the tenant folder for every valid tenant and run id', () => {
      const config = loadConfig({ STELLA_DATA_DIR: '/data' });
      const tenants = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,62}$/).filter(isValidTenant);
      fc.assert(
        fc.property(tenants, (tenant) => {
          const paths = bundlePaths(config, { tenant, runId: newRunId(tenant) });
          const tenantDir = path.join(config.exportsDir, tenant);

          for (const file of [paths.final, paths.archive, paths.staging, paths.writeState]) {
            assert.ok(file.startsWith(`${tenantDir}${path.sep}`), file);
          }
        }),
      );
    });

    it('has only valid tenants to work with: tenant names with separators are refused', () => {
      for (const tenant of ['../acme', 'acme/..', 'a\\b', '.', '', 'ACME', 'acme_x']) {
        assert.equal(isValidTenant(tenant), false, tenant);
      }
    });
  });

  describe('S3 targets and object keys', () => {
    it('throws bad_request for a prefix with dot or empty segments', () => {
      for (const target of [
        's3://bucket/../other',
        's3://bucket/a/./b',
        's3://bucket/a//b',
        's3://../x',
      ]) {
        assert.throws(
          () => parseS3Target(target),
          (err: StellaError) => err.code === 'bad_request',
          target,
        );
      }
    });

    it('returns keys that start with the prefix', () => {
      const target = parseS3Target('s3://exports-bucket/acme/nightly');

      assert.equal(
        objectKey(target, 'run_acme_1/export.json'),
        'acme/nightly/run_acme_1/export.json',
      );
    });
  });

  describe('OCI references', () => {
    it('throws bad_request for repositories that climb or hide a path', () => {
      for (const reference of [
        'registry.test/../etc:latest',
        'registry.test/a/../../b',
        'registry.test//x',
      ]) {
        assert.throws(
          () => parseOciReference(reference),
          (err: StellaError) => err.code === 'bad_request',
          reference,
        );
      }
    });
  });

  describe('run ids in download, manifest and provenance URLs', () => {
    let app: SecurityApp;

    before(async () => {
      app = await startSecurityApp();
    });

    after(async () => {
      await app?.stop();
    });

    it('answers 404 not_found for every traversal, encoded or not', async () => {
      const token = await app.token('acme', ['Export.Viewer']);
      for (const id of TRAVERSALS.filter(Boolean).map(encodeURIComponent)) {
        for (const suffix of ['/download', '/manifest', '/provenance', '/signatures']) {
          const answer = await app.call('GET', `/export/runs/${id}${suffix}`, { token });

          assert.ok(
            [400, 403, 404].includes(answer.status),
            `${id}${suffix}: ${answer.status} ${answer.text}`,
          );
          assert.ok(!answer.text.includes('root:'), `${id}${suffix}`);
        }
      }
    });
  });
});
