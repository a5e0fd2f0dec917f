import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { removeQuietly } from '../bundle/files.js';
import { StellaError } from '../domain/errors.js';
import {
  ociArtifactFor,
  objectsFor,
  type PublishedBundle,
} from '../distribution/bundle-payloads.js';
import {
  isOciAuth,
  isS3Auth,
  type DistributeRunInput,
  type DistributionAuth,
  type DistributionOutcome,
  type DistributionState,
} from '../distribution/distribution-request.js';
import {
  createS3Client,
  parseS3Target,
  s3ConnectionFromEnv,
} from '../distribution/objstore/s3-target.js';
import { uploadObjects } from '../distribution/objstore/upload-objects.js';
import type { OciMediaOverrides } from '../distribution/oci/artifact.js';
import { pushArtifact } from '../distribution/oci/push-artifact.js';
import { parseOciReference } from '../distribution/oci/reference.js';
import type { RegistryCredentials } from '../distribution/oci/registry-auth.js';
import { DEFAULT_RETRY, isTransient, type RetryOptions } from '../distribution/retry.js';
import { openCredentials } from '../distribution/sealed-credentials.js';
import type { Logger } from '../platform/logger.js';
import type { StellaConfig } from '../platform/config.js';
import type { Database } from '../store/database.js';
import {
  listRecentOciTargets,
  recordDistributionSuccess,
  setDistributionState,
} from '../store/distribution-store.js';
import { getProfile, getRun } from '../store/export-store.js';
import { bundlePaths } from './bundle-paths.js';
import { asActivityFailure } from './failures.js';

export interface DistributionDependencies {
  db: Database;
  config: StellaConfig;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}

type ProfileOciSettings = OciMediaOverrides & { shardBytes?: number };

export interface RecordDistributionInput {
  tenant: string;
  distributionId: string;
  state: DistributionState;
  errorClass?: string;
  errorMessage?: string;
}

// Pushes a published bundle to a registry or a bucket and records the outcome in its
// export_distributions row. The export run itself is only read, never changed. Credentials
// come sealed with the request or from this process's environment and are never written.
export function createDistributionActivities(deps: DistributionDependencies) {
  const { db, config } = deps;
  const env = deps.env ?? process.env;

  async function recordDistribution(input: RecordDistributionInput): Promise<void> {
    await setDistributionState(db, input.tenant, input.distributionId, input);
  }

  async function distributeBundle(input: DistributeRunInput): Promise<DistributionOutcome> {
    const log = deps.logger.child({
      tenant: input.tenant,
      runId: input.runId,
      distribution: input.distributionId,
    });
    try {
      const bundle = await publishedBundle(input);
      const auth = await requestAuth(input);
      log.info({ type: input.type, target: input.target }, 'Distributing bundle');
      const metadata =
        input.type === 'oci'
          ? await pushToRegistry(input, bundle, auth)
          : await uploadToBucket(input, bundle, auth);
      await recordSuccess(input, metadata);
      log.info({ type: input.type, target: input.target }, 'Bundle distributed');

      return { distributionId: input.distributionId, metadata };
    } catch (err) {
      throw asActivityFailure(asDistributionError(err), log);
    }
  }

  async function publishedBundle(input: DistributeRunInput): Promise<PublishedBundle> {
    const run = await getRun(db, input.tenant, input.runId);
    if (run.state !== 'succeeded' || !run.artifactSha256 || !run.manifestSha256) {
      throw new StellaError(
        'bad_request',
        `run ${run.id} has no published bundle (state ${run.state})`,
      );
    }
    const paths = bundlePaths(config, { tenant: input.tenant, runId: input.runId });
    await stat(paths.archive).catch((err: unknown) => {
      throw new StellaError('not_found', `the bundle of run ${run.id} is gone`, { cause: err });
    });

    return {
      runId: run.id,
      profileKind: run.profileKind,
      bundleDir: paths.final,
      archive: {
        file: paths.archive,
        sha256: run.artifactSha256,
        size: Number(run.sizeBytes ?? 0),
      },
      manifestSha256: run.manifestSha256,
      finishedAt: run.finishedAt ?? run.createdAt,
    };
  }

  async function requestAuth(input: DistributeRunInput): Promise<DistributionAuth | undefined> {
    if (!input.sealedAuth) {
      return undefined;
    }

    return openCredentials<DistributionAuth>(
      { keysDir: config.keysDir, env },
      input.distributionId,
      input.sealedAuth,
    );
  }

  async function pushToRegistry(
    input: DistributeRunInput,
    bundle: PublishedBundle,
    auth?: DistributionAuth,
  ) {
    const reference = parseOciReference(input.target);
    const oci = await profileOci(input);
    // Mirror and sharded bundles are pushed from their OCI layout, written here and removed
    // afterwards (a retry writes it again; the registry keeps what was already pushed).
    const layoutDir = path.join(config.dataDir, 'tmp', 'oci-layouts', input.distributionId);
    await removeQuietly(layoutDir);
    try {
      const artifact = await ociArtifactFor(bundle, {
        media: oci,
        shardBytes: oci?.shardBytes ?? numberFromEnv(env.STELLA_OCI_SHARD_BYTES),
        layoutDir,
      });
      const heartbeat = resumableHeartbeat();
      const result = await pushArtifact({
        reference,
        artifact,
        credentials: isOciAuth(auth) ? auth : ociCredentialsFromEnv(env),
        mountFrom: await siblingRepositories(input, reference.registry),
        plainHttpHosts: listFromEnv(env.STELLA_OCI_PLAIN_HTTP),
        resumeUploads: heartbeat.uploads,
        retry: heartbeat.retry,
        onProgress: heartbeat.onProgress,
      });

      return { registry: reference.registry, repository: reference.repository, ...result };
    } finally {
      await removeQuietly(layoutDir);
    }
  }

  async function uploadToBucket(
    input: DistributeRunInput,
    bundle: PublishedBundle,
    auth?: DistributionAuth,
  ) {
    const target = parseS3Target(input.target);
    const connection = s3ConnectionFromEnv(env);
    const client = createS3Client({
      ...connection,
      credentials: isS3Auth(auth) ? auth : connection.credentials,
    });
    try {
      const { objects, marker } = await objectsFor(bundle);
      const heartbeat = resumableHeartbeat();
      const result = await uploadObjects({
        client,
        target,
        objects,
        marker,
        multipartThreshold: numberFromEnv(env.STELLA_S3_MULTIPART_THRESHOLD),
        partSize: numberFromEnv(env.STELLA_S3_PART_SIZE),
        retry: heartbeat.retry,
        onProgress: heartbeat.onProgress,
      });

      return { bucket: target.bucket, prefix: target.prefix, ...result };
    } finally {
      client.destroy();
    }
  }

  // A profile may set its own media types, annotations and shard size under
  // config.distribution.oci.
  async function profileOci(input: DistributeRunInput): Promise<ProfileOciSettings | undefined> {
    const run = await getRun(db, input.tenant, input.runId);
    const profile = await getProfile(db, input.tenant, run.profileId).catch(() => undefined);
    const distribution = profile?.config.distribution as { oci?: ProfileOciSettings } | undefined;

    return distribution?.oci;
  }

  // Repositories of the same registry that earlier distributions of this tenant pushed to:
  // candidates for a cross-repository mount instead of a second upload.
  async function siblingRepositories(
    input: DistributeRunInput,
    registry: string,
  ): Promise<string[]> {
    const targets = await listRecentOciTargets(db, input.tenant, registry, 5);

    return [...new Set(targets.map((target) => parseOciReference(target).repository))];
  }

  async function recordSuccess(input: DistributeRunInput, metadata: Record<string, unknown>) {
    await recordDistributionSuccess(db, input.tenant, input.distributionId, metadata);
  }

  return { recordDistribution, distributeBundle };
}

export type DistributionActivities = ReturnType<typeof createDistributionActivities>;

function ociCredentialsFromEnv(env: NodeJS.ProcessEnv): RegistryCredentials | undefined {
  if (env.STELLA_OCI_TOKEN) {
    return { token: env.STELLA_OCI_TOKEN };
  }
  if (env.STELLA_OCI_USERNAME && env.STELLA_OCI_PASSWORD) {
    return { username: env.STELLA_OCI_USERNAME, password: env.STELLA_OCI_PASSWORD };
  }

  return undefined;
}

// Every finished chunk and every wait between attempts is a heartbeat, so a slow but live
// push is never taken for a dead worker and a cancelled one stops at the next chunk. Each
// heartbeat carries the open registry upload sessions (Temporal keeps only the last one),
// so the next attempt of the activity resumes them instead of sending the blob again.
// Multipart uploads to S3 need no such help: they are found again by listing them.
function resumableHeartbeat() {
  const previous = Context.current().info.heartbeatDetails as ResumeDetails | undefined;
  const uploads: Record<string, string> = { ...previous?.uploads };
  let progress: Record<string, unknown> = {};
  const send = () => beat({ uploads, progress });

  return {
    uploads,
    onProgress: (update: {
      uploaded: number;
      size: number;
      digest?: string;
      location?: string;
    }) => {
      if (update.digest && update.location) {
        uploads[update.digest] = update.location;
      }
      progress = { ...update, location: undefined };
      send();
    },
    retry: {
      ...DEFAULT_RETRY,
      onRetry: (_err: unknown, attempt: number) => {
        progress = { ...progress, retrying: attempt };
        send();
      },
    } satisfies RetryOptions,
  };
}

interface ResumeDetails {
  uploads?: Record<string, string>;
}

function beat(details: object) {
  const context = Context.current();
  context.heartbeat(details);
  if (context.cancellationSignal.aborted) {
    throw new StellaError('cancelled', 'distribution cancelled');
  }
}

// Retries inside the engines are spent by now: what is still transient becomes
// `unavailable`, which the workflow's own retry policy takes over.
function asDistributionError(err: unknown): unknown {
  if (err instanceof StellaError || !isTransient(err)) {
    return err;
  }

  return new StellaError('unavailable', (err as Error).message, { cause: err });
}

function listFromEnv(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function numberFromEnv(value: string | undefined): number | undefined {
  return value ? Number(value) : undefined;
}
