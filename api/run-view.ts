import type { RunRow } from '../store/export-store.js';

// The public shape of a run: what the API returns and the CLI prints with --json.
export function runView(run: RunRow, live?: { phase?: string }) {
  const base = `/export/runs/${run.id}`;
  const succeeded = run.state === 'succeeded';

  return {
    id: run.id,
    tenant: run.tenant,
    profileId: run.profileId,
    profileKind: run.profileKind,
    trigger: run.trigger,
    state: run.state,
    phase: live?.phase ?? run.state,
    filters: JSON.parse(run.filters) as Record<string, unknown>,
    policyVersion: run.policyVersion,
    counts: run.counts ? (JSON.parse(run.counts) as Record<string, number>) : null,
    progress: run.progress ? (JSON.parse(run.progress) as Record<string, unknown>) : null,
    artifact: succeeded
      ? { sha256: run.artifactSha256, size: Number(run.sizeBytes ?? 0), mediaType: 'application/zstd' }
      : null,
    manifestSha256: run.manifestSha256,
    errorClass: run.errorClass,
    errorMessage: run.errorMessage,
    createdAt: run.createdAt.toISOString(),
    startedAt: run.startedAt?.toISOString() ?? null,
    finishedAt: run.finishedAt?.toISOString() ?? null,
    links: succeeded
      ? {
          self: base,
          download: `${base}/download`,
          manifest: `${base}/manifest`,
          provenance: `${base}/provenance`,
          signatures: `${base}/signatures`,
        }
      : { self: base },
  };
}

export type RunView = ReturnType<typeof runView>;
