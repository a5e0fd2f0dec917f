import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { extractOciLayout, writeOciLayout } from '../../../adapters/mirror/oci-layout.js';
import { listFiles } from '../../../bundle/archive.js';
import { removeQuietly } from '../../../bundle/files.js';
import type { StellaError } from '../../../domain/errors.js';

const SHARD = 'com.stella.mirror.shard';

// A made-up bundle: three 3 KiB advisory parts, one VEX part and the export manifest.
const FILES: Record<string, number> = {
  'advisories/normalized/advisories-0000.jsonl.zst': 3000,
  'advisories/normalized/advisories-0001.jsonl.zst': 3000,
  'advisories/normalized/advisories-0002.jsonl.zst': 3000,
  'vex/normalized/vex-0000.jsonl.zst': 1000,
};

describe('writeOciLayout', () => {
  let root: string;
  let bundle: string;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'stella-oci-unit-'));
    bundle = await writeBundle(root);
  });

  after(async () => {
    await removeQuietly(root);
  });

  describe('when a content type is larger than the shard size', () => {
    it('returns numbered shards of whole files, each within the size', async () => {
      const result = await writeOciLayout(bundle, path.join(root, 'numbered'), {
        tag: 'b',
        shardBytes: 6500,
      });
      const shards = result.manifests.map((m) => [
        m.annotations?.[SHARD],
        m.annotations?.[`${SHARD}.index`],
        m.annotations?.[`${SHARD}.count`],
      ]);

      assert.deepEqual(shards, [
        ['meta', undefined, undefined],
        ['advisories', '1', '2'],
        ['advisories', '2', '2'],
        ['vex', undefined, undefined],
      ]);
    });

    it('returns index.json naming the bundle and each shard by its own tag', async () => {
      const layout = path.join(root, 'tags');
      await writeOciLayout(bundle, layout, { tag: 'b', shardBytes: 6500 });

      assert.deepEqual(await tagsOf(layout), [
        'b',
        'b.advisories-1',
        'b.advisories-2',
        'b.meta',
        'b.vex',
      ]);
    });
  });

  describe('when the same tag is written again with a larger shard size', () => {
    it('returns index.json without the shard tags of the earlier write', async () => {
      const layout = path.join(root, 'retag');
      await writeOciLayout(bundle, layout, { tag: 'b', shardBytes: 6500 });
      await writeOciLayout(bundle, layout, { tag: 'other', shardBytes: 6500 });
      await writeOciLayout(bundle, layout, { tag: 'b' });

      assert.deepEqual(await tagsOf(layout), [
        'b',
        'other',
        'other.advisories-1',
        'other.advisories-2',
        'other.meta',
        'other.vex',
      ]);
    });
  });

  describe('when a shard tag would take a tag that names another bundle', () => {
    it('throws conflict and leaves index.json as it was', async () => {
      const layout = path.join(root, 'clash');
      await writeOciLayout(bundle, layout, { tag: 'b.vex' });
      const before = await readFile(path.join(layout, 'index.json'));

      await assert.rejects(
        writeOciLayout(bundle, layout, { tag: 'b', shardBytes: 6500 }),
        (err: StellaError) => err.code === 'conflict' && err.message.includes('b.vex'),
      );
      assert.deepEqual(await readFile(path.join(layout, 'index.json')), before);
    });
  });
});

describe('extractOciLayout', () => {
  let root: string;
  let bundle: string;
  let layout: string;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'stella-oci-unit-'));
    bundle = await writeBundle(root);
    layout = path.join(root, 'layout');
    await writeOciLayout(bundle, layout, { tag: 'b', shardBytes: 6500 });
  });

  after(async () => {
    await removeQuietly(root);
  });

  describe('when no tag is named and the layout holds one sharded bundle', () => {
    it('returns every file of the bundle, not one shard', async () => {
      const out = path.join(root, 'whole');
      const written = await extractOciLayout(layout, out);

      assert.deepEqual(written, await listFiles(bundle));
      for (const file of written) {
        const [restored, original] = [path.join(out, file), path.join(bundle, file)];
        assert.deepEqual(await readFile(restored), await readFile(original), file);
      }
    });
  });

  describe('when a shard tag is named', () => {
    it('returns only the files of that shard', async () => {
      const written = await extractOciLayout(layout, path.join(root, 'one'), 'b.vex');

      assert.deepEqual(written, ['vex/normalized/vex-0000.jsonl.zst']);
    });
  });
});

async function writeBundle(root: string): Promise<string> {
  const bundle = path.join(root, 'bundle');
  for (const [relative, size] of Object.entries(FILES)) {
    await mkdir(path.dirname(path.join(bundle, relative)), { recursive: true });
    await writeFile(path.join(bundle, relative), Buffer.alloc(size, relative));
  }
  const manifest = { runId: 'run_x', profile: { id: 'p', kind: 'mirror:full' }, filters: {} };
  await writeFile(path.join(bundle, 'export.json'), JSON.stringify({ ...manifest, files: [] }));

  return bundle;
}

async function tagsOf(layout: string): Promise<string[]> {
  const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as {
    manifests: { annotations: Record<string, string> }[];
  };

  return index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name']).sort();
}
