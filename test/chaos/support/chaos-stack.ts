import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageRoot } from '../../../platform/package-root.js';
import { startDevServer, type DevServer } from '../../../temporal-dev/dev-server.js';
import { ensureTemporalCli } from '../../../temporal-dev/temporal-cli.js';
import { startExportStack, stellaEnv, type ExportStack } from '../../support/export-stack.js';

export interface ChaosStack extends ExportStack {
  gateDir: string;
  spawnGatedWorker(): Promise<ChildProcess>;
  hold(tenant: string, activity: string): Promise<void>;
  waitHeld(tenant: string, activity: string, timeoutMs?: number): Promise<number>;
  release(tenant: string, activity: string): Promise<void>;
  killWorker(pid: number): Promise<void>;
  restartTemporal(): Promise<void>;
}

// The export stack with gated workers (support/gated-worker.ts) in place of plain ones, and
// the means to kill them, or the Temporal server, at a chosen moment.
export async function startChaosStack(options: { workers: number }): Promise<ChaosStack> {
  const base = await startExportStack({ workers: 0 });
  const gateDir = await mkdtemp(path.join(os.tmpdir(), 'stella-chaos-gates-'));
  let restarted: DevServer | undefined;

  const stack: ChaosStack = Object.assign(base, {
    gateDir,
    spawnGatedWorker: async () => {
      const worker = await spawnGatedWorker(base, gateDir);
      base.workers.push(worker);

      return worker;
    },
    hold: (tenant: string, activity: string) => writeFile(gateFile(gateDir, 'hold', tenant, activity), ''),
    waitHeld: (tenant: string, activity: string, timeoutMs = 120_000) =>
      waitHeld(gateFile(gateDir, 'held', tenant, activity), timeoutMs),
    release: (tenant: string, activity: string) => rm(gateFile(gateDir, 'hold', tenant, activity), { force: true }),
    killWorker: async (pid: number) => {
      const worker = base.workers.find((w) => w.pid === pid);
      if (worker && worker.exitCode === null && worker.signalCode === null) {
        const exited = new Promise((resolve) => worker.once('exit', resolve));
        worker.kill('SIGKILL');
        await exited;
        await stack.spawnGatedWorker();
      }
    },
    restartTemporal: async () => {
      restarted = await killAndRestartTemporal(base, restarted);
    },
  });
  const stopBase = base.stop;
  stack.stop = async () => {
    await stopBase();
    await restarted?.stop();
    await rm(gateDir, { recursive: true, force: true });
  };
  for (let i = 0; i < options.workers; i++) {
    await stack.spawnGatedWorker();
  }

  return stack;
}

function gateFile(dir: string, kind: 'hold' | 'held', tenant: string, activity: string): string {
  return path.join(dir, `${kind}.${tenant}.${activity}`);
}

async function waitHeld(file: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pid = await readFile(file, 'utf8').catch(() => '');
    if (pid) {
      return Number(pid);
    }
    await sleep(50);
  }
  throw new Error(`nothing reached the gate ${path.basename(file)}`);
}

// SIGKILLs the dev server and starts a new one on the same port and the same SQLite file:
// workers and clients reconnect to the same address.
async function killAndRestartTemporal(stack: ExportStack, current: DevServer | undefined): Promise<DevServer> {
  const server = current?.process ?? stack.temporal.process;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGKILL');
  await exited;
  const cli = await ensureTemporalCli();

  return startDevServer({
    cli: cli!,
    dbFile: path.join(stack.config.dataDir, 'temporal.db'),
    port: stack.temporal.port,
  });
}

async function spawnGatedWorker(stack: ExportStack, gateDir: string): Promise<ChildProcess> {
  const entry = path.join(packageRoot(), 'test', 'chaos', 'support', 'gated-worker.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { ...stellaEnv(stack.config), STELLA_LOG_LEVEL: 'info', STELLA_CHAOS_GATE_DIR: gateDir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start: ${log.slice(-2000)}`)), 120_000);
    const onData = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-8000);
      if (log.includes('Worker started')) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}: ${log.slice(-2000)}`));
    });
  });
  child.stderr!.resume();

  return child;
}
