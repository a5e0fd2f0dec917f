// A chaos-suite worker: the production worker (worker/run-worker.ts, unchanged options and
// activities) plus one test-only activity interceptor, the gate. Started as its own process
// so that the suite can SIGKILL it.
//
// The gate: when the file <gateDir>/hold.<tenant>.<activity> exists, the first attempt of
// that activity for a run of that tenant writes <gateDir>/held.<tenant>.<activity> (holding
// this process id) and waits, heartbeating, until the hold file is removed. A waiting gate
// observes cancellation like any activity does, so the suite can kill or cancel a run in a
// chosen phase without racing it.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { Worker, type ActivityInterceptorsFactory, type WorkerOptions } from '@temporalio/worker';
import { loadConfig } from '../../../platform/config.js';
import { createLogger } from '../../../platform/logger.js';
import { startWorker } from '../../../worker/run-worker.js';

const gateDir = process.env.STELLA_CHAOS_GATE_DIR;
if (!gateDir) {
  throw new Error('STELLA_CHAOS_GATE_DIR is not set');
}

const gate: ActivityInterceptorsFactory = () => ({
  inbound: {
    execute: async (input, next) => {
      const info = Context.current().info;
      const tenant = (input.args[0] as { tenant?: string } | undefined)?.tenant;
      const hold = path.join(gateDir, `hold.${tenant}.${info.activityType}`);
      if (tenant && info.attempt === 1 && existsSync(hold)) {
        writeFileSync(path.join(gateDir, `held.${tenant}.${info.activityType}`), String(process.pid));
        await waitWhile(hold);
      }

      return next(input);
    },
  },
});

async function waitWhile(hold: string) {
  const context = Context.current();
  while (existsSync(hold)) {
    context.heartbeat();
    if (context.cancellationSignal.aborted) {
      throw new CancelledFailure('cancelled while held by the chaos gate');
    }
    await sleep(100);
  }
}

// Test-only: the one way to add an interceptor without a second copy of the worker options.
const create = Worker.create.bind(Worker);
Worker.create = (options: WorkerOptions) =>
  create({ ...options, interceptors: { ...options.interceptors, activity: [gate] } });

const config = loadConfig();
const running = await startWorker(config, createLogger('stella-chaos-worker'));
process.once('SIGTERM', () => running.worker.shutdown());
await running.done;
