import { mkdtemp, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { extractTarZst } from '../../bundle/extract.js';
import { removeQuietly } from '../../bundle/files.js';
import { StellaError } from '../../domain/errors.js';
import { describeDifferences } from '../../policy/explain-differences.js';
import {
  diffBundles,
  replayBundle,
  replayWithPolicy,
  type ReplayResult,
} from '../../policy/replay-bundle.js';
import type { PolicySummary } from '../../store/policy-store.js';
import { ApiClient } from '../api-client.js';
import { emit, table } from '../output.js';

interface GlobalOptions {
  tenant: string;
  apiUrl: string;
  json?: boolean;
}

// `stella policy publish|list|get|diff` and `stella export replay`. Replay and diff work
// offline, from bundles alone.
export function registerPolicyCommand(program: Command): void {
  const policy = program.command('policy').description('Policy versions and decision differences');
  registerPublish(policy);
  registerList(policy);
  registerGet(policy);
  registerDiff(policy);
  registerReplay(program.commands.find((c) => c.name() === 'export') ?? program.command('export'));
}

function clientOf(command: Command) {
  const options = command.optsWithGlobals<GlobalOptions>();

  return { api: new ApiClient({ baseUrl: options.apiUrl, tenant: options.tenant }), options };
}

function registerPublish(parent: Command) {
  parent
    .command('publish <file>')
    .description('Publish a policy YAML; its `version` (pol-vX.Y.Z) can never change after')
    .action(async (file: string, _opts: unknown, command: Command) => {
      const { api, options } = clientOf(command);
      const document = await readFile(file, 'utf8').catch((err: unknown) => {
        throw new StellaError('not_found', `cannot read ${file}`, { cause: err });
      });
      const published = await api.json<PolicySummary & { name: string }>(
        'POST',
        '/export/policies',
        { document },
      );
      emit(options, published, () => `published ${published.version} (sha256 ${published.sha256})`);
    });
}

function registerList(parent: Command) {
  parent
    .command('list')
    .description('Published versions, highest first')
    .action(async (_opts: unknown, command: Command) => {
      const { api, options } = clientOf(command);
      const { policies } = await api.json<{ policies: PolicySummary[] }>('GET', '/export/policies');
      emit(options, policies, () =>
        table([
          ['VERSION', 'SHA256', 'PUBLISHED'],
          ...policies.map((p) => [p.version, p.sha256, p.createdAt]),
        ]),
      );
    });
}

function registerGet(parent: Command) {
  parent
    .command('get <version>')
    .description('Print a published policy (a version, or "latest") as published')
    .action(async (version: string, _opts: unknown, command: Command) => {
      const { api } = clientOf(command);
      const response = await api.request(
        'GET',
        `/export/policies/${encodeURIComponent(version)}/document`,
      );
      process.stdout.write(await response.text());
    });
}

function registerDiff(parent: Command) {
  parent
    .command('diff <before> <after>')
    .description('Explain, per rule, how two json:policy bundles decide their findings differently')
    .action(async (before: string, after: string, _opts: unknown, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const diff = await withBundle(before, (a) => withBundle(after, (b) => diffBundles(a, b)));
      emit(options, diff, () => describeDifferences(diff));
    });
}

function registerReplay(parent: Command) {
  parent
    .command('replay <bundle>')
    .description('Re-evaluate a json:policy bundle from its own inputs; exit 6 if any byte differs')
    .option(
      '--policy <file>',
      'evaluate under this policy instead and explain the differences per rule',
    )
    .action(async (bundle: string, opts: { policy?: string }, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      if (opts.policy) {
        const text = await readFile(opts.policy, 'utf8');
        const diff = await withBundle(bundle, (dir) => replayWithPolicy(dir, text));
        emit(options, diff, () => describeDifferences(diff));

        return;
      }
      const result = await withBundle(bundle, replayBundle);
      emit(options, result, () => describeReplay(result));
      if (!result.identical) {
        process.exitCode = 6;
      }
    });
}

function describeReplay(result: ReplayResult): string {
  const head =
    `${result.findings} findings under ${result.policyVersion}` + `, inputs ${result.inputsHash}`;
  if (result.identical) {
    return `IDENTICAL: ${head}; every decision replayed byte for byte`;
  }
  const lines = [`DIFFERENT: ${head}; ${result.differingDecisions} decision line(s) differ`];
  for (const difference of result.differences) {
    lines.push(`  ${difference.file}${difference.line ? `:${difference.line}` : ''}`);
    lines.push(
      `    bundle: ${clip(difference.expected)}`,
      `    replay: ${clip(difference.actual)}`,
    );
  }

  return lines.join('\n');
}

function clip(text: string | undefined): string {
  if (text === undefined) {
    return '(none)';
  }

  return text.length > 300 ? `${text.slice(0, 300)}…` : text.trimEnd();
}

// A bundle is a folder or a .tar.zst archive, unpacked into a temporary folder for the call.
async function withBundle<T>(bundle: string, use: (dir: string) => Promise<T>): Promise<T> {
  const info = await stat(bundle).catch(() => {
    throw new StellaError('not_found', `${bundle} does not exist`);
  });
  if (info.isDirectory()) {
    return use(path.resolve(bundle));
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stella-replay-'));
  try {
    await extractTarZst(bundle, dir);

    return await use(dir);
  } finally {
    await removeQuietly(dir);
  }
}
