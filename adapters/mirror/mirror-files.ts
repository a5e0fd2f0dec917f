import path from 'node:path';
import { canonicalJson } from '../../bundle/canonical-json.js';
import { digestIfExists, writeFileAtomic } from '../../bundle/files.js';
import { writeJsonlZst } from '../../bundle/jsonl-zst.js';
import type { ManifestFile } from '../../bundle/manifest.js';
import type { AdapterOutput, FileLineage, WriteContext } from '../export-adapter.js';
import { JSONL_ZST } from './mirror-layout.js';

// Writes the files of one mirror bundle under the staging folder and records each in the
// adapter output, with where its content came from.
export class MirrorFiles {
  readonly output: AdapterOutput;
  private readonly paths = new Set<string>();

  constructor(
    private readonly context: WriteContext,
    schemaVersions: Record<string, string>,
  ) {
    // manifest.yaml gets its own signature (signatures/manifest.sig) for importers.
    this.output = { files: [], lineage: {}, counts: {}, schemaVersions, extraSignedFiles: ['manifest.yaml'] };
  }

  has(relative: string): boolean {
    return this.paths.has(relative);
  }

  async json(relative: string, value: unknown, lineage: FileLineage): Promise<ManifestFile> {
    const bytes = Buffer.from(canonicalJson(value) + '\n', 'utf8');

    return this.bytes(relative, bytes, 'application/json', lineage);
  }

  async text(relative: string, text: string, mediaType: string, lineage: FileLineage) {
    return this.bytes(relative, Buffer.from(text, 'utf8'), mediaType, lineage);
  }

  // Raw documents are content-addressed: one an earlier attempt left intact is kept.
  async bytes(
    relative: string,
    bytes: Uint8Array,
    mediaType: string,
    lineage: FileLineage,
    records?: number,
  ): Promise<ManifestFile> {
    const target = path.join(this.context.stagingDir, relative);
    const done = this.context.completed.get(relative);
    const onDisk = done ? await digestIfExists(target) : undefined;
    if (!done || onDisk?.sha256 !== done.sha256) {
      await writeFileAtomic(target, bytes);
    }
    const digest = (await digestIfExists(target))!;

    return this.record({ path: relative, mediaType, ...digest, ...recordsOf(records) }, lineage);
  }

  async jsonl(
    relative: string,
    lines: AsyncIterable<string>,
    lineage: () => FileLineage,
  ): Promise<ManifestFile> {
    const written = await writeJsonlZst(path.join(this.context.stagingDir, relative), lines, {
      onProgress: (records) => this.context.onProgress({ file: relative, records }),
    });

    return this.record({ path: relative, mediaType: JSONL_ZST, ...written }, lineage());
  }

  private record(file: ManifestFile, lineage: FileLineage): ManifestFile {
    this.paths.add(file.path);
    this.output.files.push(file);
    this.output.lineage[file.path] = lineage;
    this.context.onFileDone(file);

    return file;
  }
}

function recordsOf(records: number | undefined): { records?: number } {
  return records === undefined ? {} : { records };
}
