import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import { createDistributionActivities } from '../activities/distribution-activities.js';
import { createExportRunActivities } from '../activities/export-run-activities.js';
import { createRetentionActivities } from '../activities/retention-activities.js';
import { createRunSlotActivities, loadRunLimits } from '../activities/run-slot-activities.js';
import { createTriggerActivities } from '../activities/trigger-activities.js';
import { registerConsensusMirrorSection } from '../consensus/consensus-mirror-section.js';
import type { StellaConfig } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { loadConfiguredSigner, signerConfigFromEnv } from '../signing/signer-config.js';
import type { Signer } from '../signing/signer.js';
import { openDatabase } from '../store/database.js';

export interface RunningWorker {
  worker: Worker;
  done: Promise<void>;
}

// One worker process: polls the export task queue, runs workflows from workflows/ and the
// activities built from this process's database and signer.
export async function startWorker(config: StellaConfig, logger: Logger): Promise<RunningWorker> {
  installSdkLogger(logger);
  // Mirrors carry the VEX consensus (consensus/vex_consensus.jsonl) like json:policy does.
  registerConsensusMirrorSection();
  const db = await openDatabase(config.databaseUrl);
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const worker = await Worker.create({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    workflowsPath: workflowsModulePath(),
    activities: {
      ...createExportRunActivities({ db, config, signer: signerOnce(config), logger }),
      ...createDistributionActivities({ db, config, logger }),
      ...createRunSlotActivities({ db, limits: loadRunLimits() }),
      ...createTriggerActivities({ db, config, logger }),
      ...createRetentionActivities({ db, config }),
    },
    // Sized for a two-core machine: writes are I/O- and zstd-bound, a few at a time.
    maxConcurrentActivityTaskExecutions: 4,
    maxConcurrentWorkflowTaskExecutions: 20,
    shutdownGraceTime: '10 seconds',
    // Heartbeats reach the server often enough that a cancel is noticed within seconds.
    maxHeartbeatThrottleInterval: '2 seconds',
  });
  logger.info({ taskQueue: config.taskQueue, temporal: config.temporalAddress }, 'Worker started');

  const done = worker.run().finally(async () => {
    await connection.close();
    await db.$disconnect();
  });

  return { worker, done };
}

// The signer kind is read once, so a misconfigured worker fails at start; the key itself is
// loaded for every bundle, from the run's tenant's keys, so rotation and compromise marking
// apply to that tenant's next run.
function signerOnce(config: StellaConfig): (tenant: string) => Promise<Signer> {
  const signerConfig = signerConfigFromEnv(process.env, config.keysDir);

  return (tenant) => loadConfiguredSigner(signerConfig, tenant);
}

// The worker bundles workflow code from source under tsx and from dist/ once compiled.
function workflowsModulePath(): string {
  const here = fileURLToPath(import.meta.url);

  return path.join(path.dirname(here), '..', 'workflows', `index${path.extname(here)}`);
}

let sdkLoggerInstalled = false;

function installSdkLogger(logger: Logger) {
  if (sdkLoggerInstalled) {
    return;
  }
  sdkLoggerInstalled = true;
  const sdk = logger.child({ component: 'temporal-sdk' });
  const level = (process.env.STELLA_SDK_LOG_LEVEL ?? 'WARN') as LogLevel;
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      const method = entry.level === 'ERROR' ? 'error' : entry.level === 'WARN' ? 'warn' : 'info';
      sdk[method](entry.meta ?? {}, entry.message);
    }),
  });
}
