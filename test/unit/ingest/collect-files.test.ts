import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { collectDocumentPaths } from '../../../ingest/collect-files.js';

async function collect(paths: string[]): Promise<string[]> {
  const found: string[] = [];
  for await (const path of collectDocumentPaths(paths)) found.push(path);

  return found;
}

describe('ingest', () => {
  describe('collectDocumentPaths', () => {
    let root = '';
    let outside = '';

    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'stella-collect-'));
      outside = await mkdtemp(join(tmpdir(), 'stella-outside-'));
      await mkdir(join(root, 'b', 'nested'), { recursive: true });
      await mkdir(join(root, '.hidden'));
      const files = [
        'a.json', 'B.yml', 'c.yaml', 'notes.txt', 'ATTRIBUTION.md', 'SOURCES.tsv',
        'EXPECTED.md', '.dot.json', '.hidden/x.json', 'b/z.json', 'b/nested/y.JSON',
      ];
      for (const file of files) await writeFile(join(root, file), '{}');
      await writeFile(join(outside, 'secret.json'), '{}');
      await symlink(outside, join(root, 'linked-dir'));
      await symlink(join(root, 'a.json'), join(root, 'linked.json'));
    });

    after(async () => {
      await rm(root, { recursive: true, force: true });
      await rm(outside, { recursive: true, force: true });
    });

    describe('when given a folder', () => {
      it('returns documents recursively, sorted, without dotfiles or links', async () => {
        assert.deepEqual(await collect([root]), [
          join(root, 'B.yml'),
          join(root, 'a.json'),
          join(root, 'b', 'nested', 'y.JSON'),
          join(root, 'b', 'z.json'),
          join(root, 'c.yaml'),
        ]);
      });
    });

    describe('when given files explicitly', () => {
      it('returns them as given, in the given order, whatever their extension', async () => {
        const notes = join(root, 'notes.txt');
        const linked = join(root, 'linked.json');
        assert.deepEqual(await collect([notes, linked]), [notes, linked]);
      });
    });

    describe('when a path does not exist', () => {
      it('throws not_found', async () => {
        await assert.rejects(collect([join(root, 'missing.json')]), { code: 'not_found' });
      });
    });
  });
});
