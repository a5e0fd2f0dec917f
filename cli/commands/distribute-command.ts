import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option } from 'commander';
import type { DistributionView } from '../../api/routes/distributions.js';
import { isErrorClass, StellaError } from '../../domain/errors.js';
import type {
  DistributeRequest,
  DistributionAuth,
} from '../../distribution/distribution-request.js';
import { ApiClient } from '../api-client.js';
import { emit, table } from '../output.js';

interface GlobalOptions {
  tenant: string;
  apiUrl: string;
  json?: boolean;
}

interface DistributeOptions {
  oci?: string;
  s3?: string;
  username?: string;
  passwordStdin?: boolean;
  wait: boolean;
  timeout: string;
}

// `stella export distribute RUN --oci host/repo:tag | --s3 s3://bucket/prefix` asks the API
// to push a finished bundle and, unless --no-wait, waits for the outcome: a refused
// credential exits 5 like every `denied`.
export function registerDistributeCommand(program: Command): void {
  const exportCommand =
    program.commands.find((command) => command.name() === 'export') ?? program.command('export');

  exportCommand
    .command('distribute <runId>')
    .description('Push a finished bundle to an OCI registry or an S3 bucket')
    .addOption(
      new Option('--oci <reference>', 'registry target, host[:port]/repository[:tag]').conflicts(
        's3',
      ),
    )
    .addOption(new Option('--s3 <url>', 'bucket target, s3://bucket/prefix'))
    .option('--username <name>', 'registry user (default: $STELLA_OCI_USERNAME)')
    .option('--password-stdin', 'read the registry password from standard input')
    .option('--no-wait', 'return once the distribution has started')
    .option('--timeout <seconds>', 'how long to wait for the outcome', '3600')
    .action(async (runId: string, opts: DistributeOptions, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const api = new ApiClient({ baseUrl: options.apiUrl, tenant: options.tenant });
      const request = await requestFrom(opts);
      const path = `/export/runs/${encodeURIComponent(runId)}`;
      let view = await api.json<DistributionView>('POST', `${path}/distribute`, request);
      if (opts.wait) {
        view = await waitForDistribution(api, path, view.id, Number(opts.timeout) * 1000);
      }
      emit(options, view, () => describe(view));
      failUnlessSucceeded(view, opts.wait);
    });

  exportCommand
    .command('distributions <runId>')
    .description('List the distributions of a run')
    .action(async (runId: string, _opts: unknown, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const api = new ApiClient({ baseUrl: options.apiUrl, tenant: options.tenant });
      const { distributions } = await api.json<{ distributions: DistributionView[] }>(
        'GET',
        `/export/runs/${encodeURIComponent(runId)}/distributions`,
      );
      emit(options, distributions, () =>
        table([
          ['TYPE', 'TARGET', 'STATE', 'ERROR'],
          ...distributions.map((d) => [d.type, d.target, d.state, d.errorClass ?? '']),
        ]),
      );
    });
}

async function requestFrom(opts: DistributeOptions): Promise<DistributeRequest> {
  if (!opts.oci && !opts.s3) {
    throw new StellaError(
      'bad_request',
      'name a target: --oci host/repo:tag or --s3 s3://bucket/prefix',
    );
  }
  if (opts.s3) {
    return { type: 'objstore', target: opts.s3, auth: s3AuthFromEnv() };
  }

  return { type: 'oci', target: opts.oci!, auth: await ociAuth(opts) };
}

// Credentials given here travel with the request (sealed on the server); without them the
// worker uses its own environment.
async function ociAuth(opts: DistributeOptions): Promise<DistributionAuth | undefined> {
  const username = opts.username ?? process.env.STELLA_OCI_USERNAME;
  const password = opts.passwordStdin ? await readStdin() : process.env.STELLA_OCI_PASSWORD;
  if (username && password) {
    return { username, password };
  }
  if (opts.passwordStdin || opts.username) {
    throw new StellaError(
      'bad_request',
      'registry credentials need both a user name and a password',
    );
  }

  return undefined;
}

function s3AuthFromEnv(): DistributionAuth | undefined {
  const { STELLA_S3_ACCESS_KEY_ID: accessKeyId, STELLA_S3_SECRET_ACCESS_KEY: secretAccessKey } =
    process.env;

  return accessKeyId && secretAccessKey
    ? { accessKeyId, secretAccessKey, sessionToken: process.env.STELLA_S3_SESSION_TOKEN }
    : undefined;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
  }

  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function waitForDistribution(api: ApiClient, path: string, id: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (let interval = 250; ; interval = Math.min(interval * 2, 2000)) {
    const view = await api.json<DistributionView>('GET', `${path}/distributions/${id}`);
    if (view.state === 'succeeded' || view.state === 'failed' || Date.now() > deadline) {
      return view;
    }
    await sleep(interval);
  }
}

function failUnlessSucceeded(view: DistributionView, waited: boolean) {
  if (!waited || view.state === 'succeeded') {
    return;
  }
  if (view.state !== 'failed') {
    throw new StellaError('unavailable', `distribution ${view.id} still ${view.state}`);
  }

  const code = isErrorClass(view.errorClass) ? view.errorClass : 'export_failed';
  throw new StellaError(
    code,
    `distribution to ${view.target} failed: ${view.errorMessage ?? view.errorClass}`,
  );
}

function describe(view: DistributionView): string {
  const lines = [`distribution ${view.id}: ${view.state}`, `  ${view.type} ${view.target}`];
  const digest = view.metadata.manifestDigest;
  if (typeof digest === 'string') {
    lines.push(`  manifest ${digest}`);
  }
  const marker = (view.metadata.marker as { key?: string } | undefined)?.key;
  if (marker) {
    lines.push(`  marker ${marker}`);
  }
  if (view.errorClass) {
    lines.push(`  error ${view.errorClass}: ${view.errorMessage}`);
  }

  return lines.join('\n');
}
