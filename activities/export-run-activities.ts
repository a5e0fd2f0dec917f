import { mkdir, readFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { adapterFor } from '../adapters/registry.js';
import type {
  AdapterOutput,
  BaseBundle,
  FileLineage,
  RunOptions,
} from '../adapters/export-adapter.js';
import { packTarZst } from '../bundle/archive.js';
import { canonicalJson } from '../bundle/canonical-json.js';
import { digestFile, removeQuietly, temporaryNameFor, writeFileAtomic } from '../bundle/files.js';
import {
  JWKS_PATH,
  MANIFEST_PATH,
  detachedSignaturePath,
  MANIFEST_SCHEMA,
  PROVENANCE_PATH,
  SIGNATURE_PATH,
  type ExportManifest,
  type ManifestFile,
} from '../bundle/manifest.js';
import { buildProvenance } from '../bundle/provenance.js';
import { StellaError } from '../domain/errors.js';
import { exportFiltersSchema, type ExportFilters } from '../domain/filters.js';
import { joinKind } from '../domain/profiles.js';
import type { Logger } from '../platform/logger.js';
import type { StellaConfig } from '../platform/config.js';
import { productVersion } from '../platform/product-version.js';
import type { Signer } from '../signing/signer.js';
import {
  PROVENANCE_ENVELOPE_PATH,
  signProvenanceEnvelope,
} from '../signing/provenance-envelope.js';
import type { Database } from '../store/database.js';
import { planRunInputs, type PlanCounts } from '../store/export-plan.js';
import { pinRunPolicy } from '../store/policy-store.js';
import { RunRecordSource } from '../store/export-records.js';
import {
  getProfile,
  getRun,
  recordRunPublished,
  updateRun,
  type RunState,
} from '../store/export-store.js';
import type { ExportRunInput } from '../workflows/export-run-definitions.js';
import { bundlePaths } from './bundle-paths.js';
import { asActivityFailure } from './failures.js';
import { keepAlive, throwIfCancelled } from './keep-alive.js';

export interface ExportRunDependencies {
  db: Database;
  config: StellaConfig;
  signer: (tenant: string) => Promise<Signer>; // the run's tenant's signer
  logger: Logger;
}

// What the write activity leaves beside the staging folder for the sign activity.
interface WriteState extends AdapterOutput {
  adapter: { name: string; version: string };
}

// Activities are thin: they load the run, call a store function or an adapter, record the
// outcome and heartbeat. Each one can run twice without duplicating anything.
export function createExportRunActivities(deps: ExportRunDependencies) {
  const { db, config } = deps;

  const runLogger = (input: ExportRunInput) => {
    const info = Context.current().info;

    return deps.logger.child({
      tenant: input.tenant,
      runId: input.runId,
      activity: info.activityType,
      attempt: info.attempt,
    });
  };

  async function recordRunState(input: ExportRunInput & { state: RunState }): Promise<void> {
    const startedAt = input.state === 'planning' ? { startedAt: new Date() } : {};
    await updateRun(db, input.tenant, input.runId, { state: input.state, ...startedAt });
  }

  async function planRun(input: ExportRunInput): Promise<PlanCounts> {
    return guarded(input, (log) => keepAlive(async () => {
      const run = await getRun(db, input.tenant, input.runId);
      adapterFor(joinKindOf(run.profileKind));
      const filters = parseFilters(run.filters);
      const counts = await planRunInputs(db, input.tenant, input.runId, filters);
      if (run.profileKind === 'json:policy') {
        // The run's decisions are bound to one policy version, resolved now if not pinned.
        const policy = await pinRunPolicy(db, input.tenant, input.runId);
        log.info({ policyVersion: policy.version }, 'Policy pinned');
      }
      await updateRun(db, input.tenant, input.runId, { counts: JSON.stringify(counts) });
      log.info({ counts }, 'Run planned');

      return counts;
    }));
  }

  async function writeBundle(input: ExportRunInput): Promise<void> {
    return guarded(input, async (log) => {
      const run = await getRun(db, input.tenant, input.runId);
      const profile = await getProfile(db, input.tenant, run.profileId);
      const adapter = adapterFor(profile.kind);
      const paths = bundlePaths(config, input);
      const completed = resumedFiles();
      const runOptions = JSON.parse(run.options) as RunOptions;
      const recordProgress = throttled(1000, (progress: object) =>
        updateRun(db, input.tenant, input.runId, { progress: JSON.stringify(progress) }).catch(
          (err: unknown) => log.warn({ err }, 'Progress not recorded'),
        ),
      );
      if (completed.size === 0) {
        await removeQuietly(paths.staging);
      }
      await mkdir(paths.staging, { recursive: true });
      log.info({ resumedFiles: completed.size }, 'Writing bundle');

      const output = await adapter.write({
        stagingDir: paths.staging,
        source: new RunRecordSource(db, input.tenant, input.runId),
        profileConfig: profile.config,
        runOptions,
        base: runOptions.baseRunId ? await baseBundle(input.tenant, runOptions.baseRunId) : undefined,
        now: new Date(),
        completed,
        onFileDone: (file) => completed.set(file.path, file),
        onProgress: (progress) => {
          heartbeat([...completed.values()], progress);
          recordProgress(progress);
        },
      });
      const state: WriteState = { ...output, adapter: { name: adapter.name, version: adapter.version } };
      await writeFileAtomic(paths.writeState, JSON.stringify(state));
      // Redaction hints: which fields kept a raw document out, by pointer, never by value.
      for (const withheld of output.withheld ?? []) {
        log.warn({ withheld }, 'Raw document withheld');
      }
      log.info({ files: output.files.length, counts: output.counts }, 'Bundle written');
    });
  }

  async function signBundle(input: ExportRunInput): Promise<void> {
    return guarded(input, (log) => keepAlive(async () => {
      const run = await getRun(db, input.tenant, input.runId);
      const paths = bundlePaths(config, input);
      if (await isPublished(paths.final)) {
        return;
      }

      const state = JSON.parse(await readFile(paths.writeState, 'utf8')) as WriteState;
      const source = new RunRecordSource(db, input.tenant, input.runId);
      const documents = await source.inputDocuments();
      const provenance = buildProvenance({
        runId: run.id,
        workflowId: run.workflowId,
        tenant: run.tenant,
        profile: { id: run.profileId, kind: run.profileKind },
        filters: JSON.parse(run.filters) as Record<string, unknown>,
        policyVersion: run.policyVersion,
        trigger: { type: run.trigger, source: (JSON.parse(run.options) as RunOptions).triggerSource },
        adapter: state.adapter,
        schemaVersions: state.schemaVersions,
        files: state.files,
        lineage: await resolveLineage(source, state),
        documents,
        builderVersion: productVersion(),
      });
      const provenanceFile = await writeJsonFile(paths.staging, PROVENANCE_PATH, provenance);

      const manifest: ExportManifest = {
        schema: MANIFEST_SCHEMA,
        runId: run.id,
        tenant: run.tenant,
        profile: { id: run.profileId, kind: run.profileKind },
        filters: JSON.parse(run.filters) as Record<string, unknown>,
        trigger: run.trigger,
        schemaVersions: state.schemaVersions,
        adapter: state.adapter,
        counts: state.counts,
        ...(await baseReference(run.tenant, JSON.parse(run.options) as RunOptions)),
        files: [...state.files, provenanceFile].sort((a, b) => a.path.localeCompare(b.path)),
        ...(state.withheld ? { withheld: state.withheld } : {}),
        ...detachedSignaturesOf(state.extraSignedFiles),
        inputs: documents,
        startedAt: (run.startedAt ?? run.createdAt).toISOString(),
        finishedAt: new Date().toISOString(),
        generator: { name: 'stella-export-center', version: productVersion() },
      };
      const manifestBytes = Buffer.from(canonicalJson(manifest) + '\n', 'utf8');
      await writeFileAtomic(path.join(paths.staging, MANIFEST_PATH), manifestBytes);

      const signer = await deps.signer(run.tenant);
      const signature = await signer.signDetached(manifestBytes);
      await writeFileAtomic(path.join(paths.staging, SIGNATURE_PATH), signature + '\n');
      for (const { file, signature: signaturePath } of manifest.detachedSignatures ?? []) {
        const detached = await signer.signDetached(await readFile(path.join(paths.staging, file)));
        await writeFileAtomic(path.join(paths.staging, signaturePath), detached + '\n');
      }
      // The attestation as in-toto tooling reads it: provenance.json's bytes in a DSSE envelope.
      const provenanceBytes = await readFile(path.join(paths.staging, PROVENANCE_PATH));
      const envelope = await signProvenanceEnvelope(signer, provenanceBytes);
      await writeFileAtomic(path.join(paths.staging, PROVENANCE_ENVELOPE_PATH), envelope);
      const jwks = { keys: [await signer.publicJwk()] };
      await writeFileAtomic(path.join(paths.staging, JWKS_PATH), canonicalJson(jwks) + '\n');
      log.info({ keyId: signer.keyId }, 'Bundle signed');
    }));
  }

  async function publishBundle(
    input: ExportRunInput,
  ): Promise<{ artifactSha256: string; manifestSha256: string }> {
    return guarded(input, async (log) => {
      const paths = bundlePaths(config, input);
      if (!(await isPublished(paths.final))) {
        await keepAlive(() => packTarZst(paths.staging, paths.archive));
        // The rename publishes: a cancellation that arrives after it is too late to honour.
        throwIfCancelled();
        await rename(paths.staging, paths.final);
      }
      await removeQuietly(paths.writeState);

      const archive = await digestFile(paths.archive);
      const manifest = await digestFile(path.join(paths.final, MANIFEST_PATH));
      await recordPublished(input, paths, archive, manifest.sha256);
      log.info({ artifact: paths.archive, sha256: archive.sha256 }, 'Bundle published');

      return { artifactSha256: archive.sha256, manifestSha256: manifest.sha256 };
    });
  }

  async function abandonRun(
    input: ExportRunInput & { state: RunState; errorClass: string; errorMessage: string },
  ): Promise<void> {
    const paths = bundlePaths(config, input);
    await removeQuietly(paths.staging);
    await removeQuietly(paths.writeState);
    await removeQuietly(temporaryNameFor(paths.archive));
    if (!(await isPublished(paths.final))) {
      // An archive packed by a publish that was then cancelled, before its folder was renamed.
      await removeQuietly(paths.archive);
    }
    await updateRun(db, input.tenant, input.runId, {
      state: input.state,
      errorClass: input.errorClass,
      errorMessage: input.errorMessage.slice(0, 2000),
      finishedAt: new Date(),
    });
  }

  async function baseReference(tenant: string, options: RunOptions) {
    if (!options.baseRunId) {
      return {};
    }
    const base = await baseBundle(tenant, options.baseRunId);

    return { base: { runId: base.runId, manifestSha256: base.manifestSha256 } };
  }

  async function baseBundle(tenant: string, runId: string): Promise<BaseBundle> {
    const base = await getRun(db, tenant, runId);
    if (base.state !== 'succeeded' || !base.manifestSha256) {
      throw new StellaError('bad_request', `base run ${runId} has no published bundle`);
    }

    return {
      runId,
      bundleDir: bundlePaths(config, { tenant, runId }).final,
      manifestSha256: base.manifestSha256,
    };
  }

  async function recordPublished(
    input: ExportRunInput,
    paths: ReturnType<typeof bundlePaths>,
    archive: { sha256: string; size: number },
    manifestSha256: string,
  ) {
    await recordRunPublished(db, input.tenant, {
      runId: input.runId,
      bundleDir: paths.final,
      archivePath: paths.archive,
      archive,
      manifestPath: path.join(paths.final, MANIFEST_PATH),
      manifestSha256,
      signaturePath: path.join(paths.final, SIGNATURE_PATH),
      provenancePath: path.join(paths.final, PROVENANCE_PATH),
    });
  }

  async function guarded<T>(input: ExportRunInput, body: (log: Logger) => Promise<T>) {
    const log = runLogger(input);
    try {
      return await body(log);
    } catch (err) {
      throw asActivityFailure(err, log);
    }
  }

  return { recordRunState, planRun, writeBundle, signBundle, publishBundle, abandonRun };
}

export type ExportRunActivities = ReturnType<typeof createExportRunActivities>;

function parseFilters(text: string): ExportFilters {
  return exportFiltersSchema.parse(JSON.parse(text));
}

function joinKindOf(kind: string) {
  const [family, variant] = kind.split(':');

  return joinKind(family, variant);
}

// Files an earlier attempt of this activity finished, from its last heartbeat.
function resumedFiles(): Map<string, ManifestFile> {
  const details = Context.current().info.heartbeatDetails as { files?: ManifestFile[] } | undefined;

  return new Map((details?.files ?? []).map((file) => [file.path, file]));
}

function heartbeat(files: ManifestFile[], progress: { file: string; records: number }) {
  const context = Context.current();
  context.heartbeat({ files, progress });
  // Cancellation reaches an activity through its heartbeats; stop at the next record.
  if (context.cancellationSignal.aborted) {
    throw context.cancellationSignal.reason ?? new Error('cancelled');
  }
}

// Calls `action` at most once per interval; progress is advisory, so dropping some is fine.
function throttled<T>(intervalMs: number, action: (value: T) => unknown): (value: T) => void {
  let last = 0;

  return (value) => {
    const now = Date.now();
    if (now - last >= intervalMs) {
      last = now;
      void action(value);
    }
  };
}

async function resolveLineage(
  source: RunRecordSource,
  state: WriteState,
): Promise<Record<string, string[]>> {
  const byKinds = new Map<string, string[]>();
  const lineage: Record<string, string[]> = {};
  for (const [file, origin] of Object.entries(state.lineage) as [string, FileLineage][]) {
    if ('documents' in origin) {
      lineage[file] = [...origin.documents].sort();
      continue;
    }
    const key = origin.kinds.join(',');
    if (!byKinds.has(key)) {
      const documents = await source.inputDocuments(origin.kinds);
      byKinds.set(key, documents.map((doc) => doc.sha256));
    }
    lineage[file] = byKinds.get(key)!;
  }

  return lineage;
}

function detachedSignaturesOf(files: string[] | undefined): Pick<ExportManifest, 'detachedSignatures'> {
  if (!files || files.length === 0) {
    return {};
  }
  const sorted = [...files].sort();

  return { detachedSignatures: sorted.map((file) => ({ file, signature: detachedSignaturePath(file) })) };
}

async function writeJsonFile(dir: string, relative: string, value: unknown): Promise<ManifestFile> {
  const bytes = Buffer.from(canonicalJson(value) + '\n', 'utf8');
  await writeFileAtomic(path.join(dir, relative), bytes);
  const digest = await digestFile(path.join(dir, relative));

  return { path: relative, mediaType: 'application/json', ...digest };
}

async function isPublished(finalDir: string): Promise<boolean> {
  return stat(path.join(finalDir, MANIFEST_PATH)).then(
    () => true,
    () => false,
  );
}
