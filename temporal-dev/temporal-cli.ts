import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../platform/package-root.js';

const run = promisify(execFile);

// The newest Temporal CLI release whose go.mod `go install pkg@version` accepts (later ones
// carry a replace directive). Built from the Go module proxy: no binary download.
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

// Finds a Temporal CLI in this order: TEMPORAL_CLI, `temporal` on PATH, .tools/bin/temporal.
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [
    env.TEMPORAL_CLI,
    ...(env.PATH ?? '').split(path.delimiter).map((dir) => dir && path.join(dir, 'temporal')),
    path.join(packageRoot(), '.tools', 'bin', 'temporal'),
  ];

  return candidates.find((candidate): candidate is string => !!candidate && isExecutable(candidate));
}

// Finds the CLI or builds it into .tools/bin with `go install`. Returns undefined when
// neither works, so callers can fall back to the SDK's own download where a network allows.
export async function ensureTemporalCli(
  log: (message: string) => void = () => {},
): Promise<string | undefined> {
  const found = findTemporalCli();
  if (found) {
    return found;
  }
  if (!hasGo()) {
    log('No Temporal CLI and no Go toolchain to build one.');

    return undefined;
  }

  const bin = path.join(packageRoot(), '.tools', 'bin');
  log(`Building the Temporal CLI (${TEMPORAL_CLI_MODULE}) into ${bin}; the first build takes minutes.`);
  await run('go', ['install', TEMPORAL_CLI_MODULE], {
    env: { ...process.env, GOBIN: bin },
    maxBuffer: 64 * 1024 * 1024,
  });

  return findTemporalCli();
}

function hasGo(): boolean {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .some((dir) => dir && existsSync(path.join(dir, 'go')));
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);

    return true;
  } catch {
    return false;
  }
}
