import path from 'node:path';
import { digestIfExists, writeFileAtomic } from '../../bundle/files.js';
import type { ManifestFile } from '../../bundle/manifest.js';
import { writeShardedJsonl, type ShardedJsonlOptions } from '../../bundle/sharded-jsonl.js';
import { SCHEMA_VERSIONS } from '../../domain/records.js';
import { withheldEntry } from '../../redaction/raw-document-screen.js';
import type { AdapterOutput, ExportAdapter, WriteContext } from '../export-adapter.js';
import { jsonPartLimitsOf } from './json-part-limits.js';
import { sbomFileName } from './sbom-file-name.js';

// json:raw: the evidence as the store holds it. Normalized advisories and VEX statements
// as canonical JSONL (the lines computed at ingest, streamed unchanged), and every SBOM as
// the exact bytes that were ingested. A JSONL file past the profile's part limits is split
// into numbered parts; an SBOM is one document and is never split.
export const jsonRawAdapter: ExportAdapter = {
  kind: 'json:raw',
  name: 'stella.json-raw',
  version: '1.0.0',
  write: writeJsonRaw,
};

async function writeJsonRaw(context: WriteContext): Promise<AdapterOutput> {
  const output: AdapterOutput = {
    files: [],
    lineage: {},
    counts: { advisories: 0, vexStatements: 0, sboms: 0 },
    schemaVersions: { ...SCHEMA_VERSIONS },
  };

  const limits = jsonPartLimitsOf(context.profileConfig);
  const advisories = await jsonlParts(context, {
    relative: 'advisories/normalized.jsonl.zst',
    contentType: 'advisory',
    limits,
    keyOf: (line) => (JSON.parse(line) as { id: string }).id,
  }, () => context.source.advisoryLines());
  recordAll(output, context, advisories, { kinds: ['advisory'] });
  output.counts.advisories = recordsIn(advisories);

  const vex = await jsonlParts(context, {
    relative: 'vex/normalized.jsonl.zst',
    contentType: 'vex-statement',
    limits,
    keyOf: vexKeyOf,
  }, () => context.source.vexLines());
  recordAll(output, context, vex, { kinds: ['vex'] });
  output.counts.vexStatements = recordsIn(vex);

  output.withheld = [];
  for await (const sbom of context.source.sbomDocuments()) {
    // An SBOM ships as its ingested bytes or not at all (redaction/raw-document-screen.ts).
    const withheld = withheldEntry({
      kind: 'sboms',
      sha256: sbom.documentSha256,
      format: sbom.format,
      bytes: sbom.bytes,
    });
    if (withheld) {
      output.withheld.push(withheld);
      continue;
    }
    const relative = `sboms/${sbomFileName(sbom)}`;
    const file = await rawPart(context, relative, sbom.bytes);
    record(output, context, file, { documents: [sbom.documentSha256] });
    output.counts.sboms += 1;
  }

  return output;
}

function record(
  output: AdapterOutput,
  context: WriteContext,
  file: ManifestFile,
  lineage: AdapterOutput['lineage'][string],
) {
  output.files.push(file);
  output.lineage[file.path] = lineage;
  context.onFileDone(file);
}

function recordAll(
  output: AdapterOutput,
  context: WriteContext,
  files: ManifestFile[],
  lineage: AdapterOutput['lineage'][string],
) {
  for (const file of files) {
    record(output, context, file, lineage);
  }
}

function recordsIn(files: ManifestFile[]): number {
  return files.reduce((sum, file) => sum + (file.records ?? 0), 0);
}

// Statements are ordered by vulnerability, then product (docs/bundle-format.md).
function vexKeyOf(line: string): string {
  const statement = JSON.parse(line) as { vulnerability: string; product: string };

  return `${statement.vulnerability} ${statement.product}`;
}

// One JSONL data file, split into parts past the profile's limits (bundle/sharded-jsonl.ts).
async function jsonlParts(
  context: WriteContext,
  options: Omit<ShardedJsonlOptions, 'stagingDir' | 'onProgress'>,
  lines: () => AsyncIterable<string>,
): Promise<ManifestFile[]> {
  const reused = await reusableParts(context, options.relative);
  if (reused) {
    return reused;
  }

  return writeShardedJsonl(lines(), {
    ...options,
    stagingDir: context.stagingDir,
    onProgress: (file, records) => context.onProgress({ file, records }),
  });
}

// The parts of a file an earlier attempt finished, if all of them are still on disk as
// recorded; a file is only reported done once all its parts are written.
async function reusableParts(
  context: WriteContext,
  relative: string,
): Promise<ManifestFile[] | null> {
  const done = [...context.completed.values()].filter(
    (file) => file.path === relative || file.shard?.of === relative,
  );
  const expected = done[0]?.shard?.count ?? 1;
  if (done.length !== expected) {
    return null;
  }
  for (const file of done) {
    if (!(await reusable(context, file.path))) {
      return null;
    }
  }

  return done.sort((a, b) => (a.shard?.index ?? 0) - (b.shard?.index ?? 0));
}

async function rawPart(
  context: WriteContext,
  relative: string,
  bytes: Uint8Array,
): Promise<ManifestFile> {
  const reused = await reusable(context, relative);
  if (reused) {
    return reused;
  }

  const target = path.join(context.stagingDir, relative);
  await writeFileAtomic(target, bytes);
  const digest = await digestIfExists(target);

  return { path: relative, mediaType: 'application/json', records: 1, ...digest! };
}

// A file an earlier attempt finished is kept if its bytes are still the ones recorded.
async function reusable(context: WriteContext, relative: string): Promise<ManifestFile | null> {
  const done = context.completed.get(relative);
  if (!done) {
    return null;
  }
  const onDisk = await digestIfExists(path.join(context.stagingDir, relative));

  return onDisk?.sha256 === done.sha256 ? done : null;
}
