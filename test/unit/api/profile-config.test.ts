import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSecurityApp, type SecurityApp } from '../../security/security-app.js';

// Every option an adapter or the distribution reads from a profile can be set through the
// API; anything else is refused.
describe('POST /export/profiles', { timeout: 60_000 }, () => {
  let app: SecurityApp;
  let token: string;

  before(async () => {
    app = await startSecurityApp();
    token = await app.token('acme', ['Export.Admin']);
  });

  after(async () => {
    await app?.stop();
  });

  const create = (id: string, kind: string, config: Record<string, unknown>) =>
    app.call('POST', '/export/profiles', {
      token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, name: id, kind, config }),
    });

  describe('when the config sets part sizes, VEX consensus weights and OCI settings', () => {
    it('returns 201 with the options stored', async () => {
      const config = {
        partBytes: 65_536,
        partRecords: 1_000,
        vexConsensus: { defaultWeight: 0.4, issuers: [{ issuer: 'vendor', weight: 1 }] },
        distribution: { oci: { shardBytes: 1_048_576, annotations: { team: 'sec' } } },
      };

      const result = await create('mirror-tuned', 'mirror:full', config);

      assert.equal(result.status, 201, result.text);
      assert.deepEqual((result.body as { config: unknown }).config, config);
    });
  });

  describe('when the config names an option no profile reads', () => {
    it('returns 400 bad_request', async () => {
      const result = await create('mirror-typo', 'mirror:full', { partByte: 65_536 });

      assert.equal(result.status, 400);
      assert.equal(result.body.error_class, 'bad_request');
    });
  });

  describe('when an OCI media type is not a media type', () => {
    it('returns 400 bad_request', async () => {
      const config = { distribution: { oci: { layerMediaType: 'not a media type' } } };

      const result = await create('oci-bad', 'json:raw', config);

      assert.equal(result.status, 400);
    });
  });
});
