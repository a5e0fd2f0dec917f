import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { StellaError } from '../../../domain/errors.js';
import {
  openCredentials,
  sealCredentials,
  SEALED_TTL_MS,
} from '../../../distribution/sealed-credentials.js';

const isDenied = (err: unknown) => err instanceof StellaError && err.code === 'denied';
const credentials = { username: 'ci', password: 'hunter2-secret' };

async function keySource() {
  return { keysDir: await mkdtemp(path.join(os.tmpdir(), 'stella-seal-')), env: {} };
}

describe('sealed credentials', () => {
  describe('sealCredentials then openCredentials', () => {
    describe('for the same distribution within a day', () => {
      it('returns the credentials, while the sealed text does not contain them', async () => {
        const source = await keySource();
        const sealed = await sealCredentials(source, 'dist_a', credentials);

        assert.ok(!sealed.includes('hunter2'));
        assert.deepEqual(await openCredentials(source, 'dist_a', sealed), credentials);
      });
    });

    describe('for another distribution', () => {
      it('throws denied', async () => {
        const source = await keySource();
        const sealed = await sealCredentials(source, 'dist_a', credentials);

        await assert.rejects(openCredentials(source, 'dist_b', sealed), isDenied);
      });
    });

    describe('after the validity has passed', () => {
      it('throws denied', async () => {
        const source = await keySource();
        const sealed = await sealCredentials(source, 'dist_a', credentials, 0);

        await assert.rejects(
          openCredentials(source, 'dist_a', sealed, SEALED_TTL_MS + 1),
          isDenied,
        );
      });
    });

    describe('when the key differs', () => {
      it('throws denied', async () => {
        const sealed = await sealCredentials(await keySource(), 'dist_a', credentials);

        await assert.rejects(openCredentials(await keySource(), 'dist_a', sealed), isDenied);
      });
    });

    describe('when the key comes from STELLA_CREDENTIALS_KEY', () => {
      it('returns the credentials in another folder with the same key', async () => {
        const env = { STELLA_CREDENTIALS_KEY: Buffer.alloc(32, 7).toString('base64') };
        const sealed = await sealCredentials(
          { ...(await keySource()), env },
          'dist_a',
          credentials,
        );

        assert.deepEqual(
          await openCredentials({ ...(await keySource()), env }, 'dist_a', sealed),
          credentials,
        );
      });
    });
  });
});
