import type { ManifestFile, WithheldDocument } from '../bundle/manifest.js';
import type { ProfileKind } from '../domain/profiles.js';
import type { InputKind } from '../store/export-plan.js';
import type { RunRecordSource } from '../store/export-records.js';

// A format adapter turns a run's planned records into files under a staging folder. It
// knows nothing of Temporal or the database beyond the record source it is handed.

export interface AdapterProgress {
  file: string;
  records: number;
}

export interface WriteContext {
  stagingDir: string;
  source: RunRecordSource;
  profileConfig: Record<string, unknown>;
  runOptions: RunOptions;
  // For profiles that build on an earlier export (mirror:delta): that run's published bundle.
  base?: BaseBundle;
  now: Date;
  // Files finished by an earlier attempt of the same run, by path; an adapter may skip
  // rewriting one whose bytes on disk still match.
  completed: Map<string, ManifestFile>;
  onFileDone: (file: ManifestFile) => void;
  onProgress: (progress: AdapterProgress) => void;
}

export interface RunOptions {
  baseRunId?: string;
  triggerSource?: Record<string, unknown>;
}

export interface BaseBundle {
  runId: string;
  bundleDir: string;
  manifestSha256: string;
}

// Which planned inputs a file was made from: provenance resolves these to the raw
// documents' hashes.
export type FileLineage = { kinds: InputKind[] } | { documents: string[] };

export interface AdapterOutput {
  files: ManifestFile[];
  lineage: Record<string, FileLineage>;
  counts: Record<string, number>;
  schemaVersions: Record<string, string>;
  // Files that also get a detached signature of their own, `signatures/<name>.sig`
  // (mirrors sign manifest.yaml for importers that read it first).
  extraSignedFiles?: string[];
  // Raw documents the raw-document screen kept out (redaction/); export.json lists them.
  withheld?: WithheldDocument[];
}

export interface ExportAdapter {
  kind: ProfileKind;
  name: string;
  version: string;
  write(context: WriteContext): Promise<AdapterOutput>;
}
