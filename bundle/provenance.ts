import type { ManifestFile } from './manifest.js';
import type { RawInputDocument } from '../store/export-records.js';

export const IN_TOTO_STATEMENT = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE = 'https://slsa.dev/provenance/v1';
export const BUILD_TYPE = 'https://stella-export-center.dev/export-run/v1';

export interface ProvenanceInput {
  runId: string;
  workflowId: string;
  tenant: string;
  profile: { id: string; kind: string };
  filters: Record<string, unknown>;
  policyVersion?: string | null;
  trigger?: { type: string; source?: Record<string, unknown> };
  adapter: { name: string; version: string };
  schemaVersions: Record<string, string>;
  files: ManifestFile[];
  // For each file, the raw documents it was made from (sha256 values).
  lineage: Record<string, string[]>;
  documents: RawInputDocument[];
  builderVersion: string;
}

// An in-toto statement with a SLSA v1 provenance predicate: subjects are the bundle's data
// files, resolved dependencies are the raw documents they were made from. No clock values:
// the same run over the same evidence writes the same statement.
export function buildProvenance(input: ProvenanceInput) {
  return {
    _type: IN_TOTO_STATEMENT,
    subject: input.files.map((file) => ({ name: file.path, digest: { sha256: file.sha256 } })),
    predicateType: SLSA_PROVENANCE,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          tenant: input.tenant,
          profile: input.profile,
          filters: input.filters,
          policyVersion: input.policyVersion ?? null,
          trigger: input.trigger ?? null,
        },
        internalParameters: {
          adapter: input.adapter,
          schemaVersions: input.schemaVersions,
        },
        resolvedDependencies: input.documents.map((doc) => ({
          uri: doc.sourceUri,
          digest: { sha256: doc.sha256 },
          mediaType: doc.mediaType,
          annotations: { format: doc.format },
        })),
      },
      runDetails: {
        builder: {
          id: 'https://stella-export-center.dev/builder/temporal-worker',
          version: { 'stella-export-center': input.builderVersion },
        },
        metadata: { invocationId: input.runId, workflowId: input.workflowId },
        byproducts: input.files.map((file) => ({
          name: `lineage/${file.path}`,
          digest: { sha256: file.sha256 },
          annotations: { documents: input.lineage[file.path] ?? [] },
        })),
      },
    },
  };
}
