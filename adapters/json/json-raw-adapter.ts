import path from 'node:path';
import { digestIfExists, writeFileAtomic } from '../../bundle/files.js';
import { writeJsonlZst } from '../../bundle/jsonl-zst.js';
import type { ManifestFile } from '../../bundle/manifest.js';
import { SCHEMA_VERSIONS } from '../../domain/records.js';
import type { AdapterOutput, ExportAdapter, WriteContext } from '../export-adapter.js';
import { sbomFileName } from './sbom-file-name.js';

const JSONL_ZST = 'application/x-ndjson+zstd';

// json:raw: the evidence as the store holds it. Normalized advisories and VEX statements
// as canonical JSONL (the lines computed at ingest, streamed unchanged), and every SBOM as
// the exact bytes that were ingested.
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

  const advisories = await jsonlPart(context, 'advisories/normalized.jsonl.zst', () =>
    context.source.advisoryLines(),
  );
  record(output, context, advisories, { kinds: ['advisory'] });
  output.counts.advisories = advisories.records ?? 0;

  const vex = await jsonlPart(context, 'vex/normalized.jsonl.zst', () =>
    context.source.vexLines(),
  );
  record(output, context, vex, { kinds: ['vex'] });
  output.counts.vexStatements = vex.records ?? 0;

  for await (const sbom of context.source.sbomDocuments()) {
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

async function jsonlPart(
  context: WriteContext,
  relative: string,
  lines: () => AsyncIterable<string>,
): Promise<ManifestFile> {
  const reused = await reusable(context, relative);
  if (reused) {
    return reused;
  }

  const written = await writeJsonlZst(path.join(context.stagingDir, relative), lines(), {
    onProgress: (records) => context.onProgress({ file: relative, records }),
  });

  return { path: relative, mediaType: JSONL_ZST, ...written };
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
