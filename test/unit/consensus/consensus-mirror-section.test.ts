import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { mirrorFullAdapter } from '../../../adapters/mirror/mirror-full-adapter.js';
import {
  CONSENSUS_MIRROR_FILE,
  mirrorTrustOf,
  registerConsensusMirrorSection,
} from '../../../consensus/consensus-mirror-section.js';
import type { VexConsensusRecord } from '../../../consensus/consensus-records.js';
import { openMirrorTestStore, type MirrorTestStore } from '../mirror/mirror-test-store.js';
import { EVIDENCE } from '../../support/export-stack.js';

const OPENVEX = path.join(EVIDENCE, 'vex', 'openvex');
const BASH = 'pkg:apk/wolfi/bash@1.0.0';

// document1 and document2 (John Doe) say under_investigation, then fixed, about bash.
describe('consensus mirror section', { timeout: 120_000 }, () => {
  let store: MirrorTestStore;

  before(async () => {
    registerConsensusMirrorSection();
    store = await openMirrorTestStore();
    await store.ingest([
      path.join(OPENVEX, 'document1.vex.json'),
      path.join(OPENVEX, 'document2.vex.json'),
    ]);
  });

  after(async () => {
    await store?.close();
  });

  const consensusOf = async (bundleDir: string) => {
    const text = await readFile(path.join(bundleDir, CONSENSUS_MIRROR_FILE), 'utf8');

    return text.trimEnd().split('\n').map((line) => JSON.parse(line) as VexConsensusRecord);
  };

  describe('when a mirror:full run plans VEX statements', () => {
    it('writes consensus/vex_consensus.jsonl and names the section in manifest.yaml', async () => {
      const run = await store.run(mirrorFullAdapter);
      const manifest = parse(await readFile(path.join(run.bundleDir, 'manifest.yaml'), 'utf8'));
      const bash = (await consensusOf(run.bundleDir)).find((r) => r.product === BASH);

      assert.deepEqual(manifest.sections, ['consensus']);
      assert.deepEqual([bash?.status, bash?.resolvedBy], ['fixed', 'unanimous']);
      assert.ok(run.output.files.some((f) => f.path === CONSENSUS_MIRROR_FILE));
    });
  });

  describe('when the profile distrusts the issuer', () => {
    it('writes unknown for the issuer\'s product', async () => {
      const vexConsensus = { defaultWeight: 0.5, issuers: [{ issuer: 'John Doe', weight: 0 }] };
      const run = await store.run(mirrorFullAdapter, { profileConfig: { vexConsensus } });
      const bash = (await consensusOf(run.bundleDir)).find((r) => r.product === BASH);

      assert.equal(bash?.status, 'unknown');
    });
  });

  describe('when the profile turns consensus off', () => {
    it('writes no consensus file', async () => {
      const run = await store.run(mirrorFullAdapter, { profileConfig: { vexConsensus: false } });

      assert.ok(!run.output.files.some((f) => f.path.startsWith('consensus/')));
    });
  });
});

describe('mirrorTrustOf', () => {
  describe('when vexConsensus has a weight out of range', () => {
    it('throws bad_request naming the field', () => {
      assert.throws(() => mirrorTrustOf({ vexConsensus: { defaultWeight: 2 } }), {
        code: 'bad_request',
        message: /defaultWeight/,
      });
    });
  });
});
