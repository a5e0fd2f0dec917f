import { mkdtemp, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import type { RunView } from '../../api/run-view.js';
import { extractTarZst } from '../../bundle/extract.js';
import { removeQuietly } from '../../bundle/files.js';
import { StellaError } from '../../domain/errors.js';
import { exportFiltersSchema } from '../../domain/filters.js';
import type { ProfileView } from '../../store/export-store.js';
import { readBaseManifest } from '../../signing/base-link.js';
import { verifyBundle, type VerifyResult } from '../../signing/verify-bundle.js';
import type { JWKS } from '../../signing/signer.js';
import { ApiClient } from '../api-client.js';
import { downloadBundle } from '../download.js';
import { emit, table } from '../output.js';
import { failUnlessSucceeded, waitForRun } from '../wait-for-run.js';

interface GlobalOptions {
  tenant: string;
  apiUrl: string;
  json?: boolean;
}

export function registerExportCommands(program: Command): void {
  const exportCommand = program.command('export').description('Profiles, runs and bundles');
  registerProfileCommands(exportCommand);
  registerRunCommands(exportCommand);
  registerVerifyCommand(exportCommand);
}

function clientOf(command: Command): { api: ApiClient; options: GlobalOptions } {
  const options = command.optsWithGlobals<GlobalOptions>();

  return { api: new ApiClient({ baseUrl: options.apiUrl, tenant: options.tenant }), options };
}

function registerProfileCommands(parent: Command) {
  const profiles = parent.command('profiles').description('Export profiles');

  profiles
    .command('list')
    .option('--kind <kind>', 'json, trivy or mirror')
    .option('--variant <variant>', 'raw, policy, db, java-db, full or delta')
    .action(async (opts: { kind?: string; variant?: string }, command: Command) => {
      const { api, options } = clientOf(command);
      const query = new URLSearchParams(Object.entries(opts).filter(([, v]) => v) as [string, string][]);
      const { profiles: list } = await api.json<{ profiles: ProfileView[] }>('GET', `/export/profiles?${query}`);
      emit(options, list, () => table([['ID', 'KIND', 'NAME'], ...list.map((p) => [p.id, p.kind, p.name])]));
    });

  profiles
    .command('create')
    .requiredOption('--id <id>', 'profile id')
    .requiredOption('--kind <kind>', 'e.g. json:raw')
    .option('--name <name>', 'display name')
    .option('--filters <json>', 'default filters as JSON')
    .action(async (opts: { id: string; kind: string; name?: string; filters?: string }, command: Command) => {
      const { api, options } = clientOf(command);
      const body = { id: opts.id, kind: opts.kind, name: opts.name ?? opts.id, config: { filters: parseFiltersOption(opts.filters) } };
      const profile = await api.json<ProfileView>('POST', '/export/profiles', body);
      emit(options, profile, () => `created profile ${profile.id} (${profile.kind})`);
    });

  profiles
    .command('get <id>')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const { api, options } = clientOf(command);
      const profile = await api.json<ProfileView>('GET', `/export/profiles/${encodeURIComponent(id)}`);
      emit(options, profile, () => JSON.stringify(profile, null, 2));
    });

  profiles
    .command('delete <id>')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const { api, options } = clientOf(command);
      await api.json('DELETE', `/export/profiles/${encodeURIComponent(id)}`);
      emit(options, { deleted: id }, () => `deleted profile ${id}`);
    });
}

interface CreateRunOptions {
  profile: string;
  filters?: string;
  idempotencyKey?: string;
  baseRunId?: string;
  policyVersion?: string;
  wait?: boolean;
}

function registerRunCommands(parent: Command) {
  const run = parent.command('run').description('Export runs');

  run
    .command('create')
    .requiredOption('--profile <id>', 'profile id, e.g. prof_json_raw')
    .option('--filters <json>', 'filters as JSON, e.g. {"ecosystems":["npm"]}')
    .option('--idempotency-key <key>', 'the same key twice gives the same run')
    .option('--base-run-id <runId>', 'mirror:delta: the export the delta builds on')
    .option('--policy-version <version>', 'json:policy: pin a published policy version')
    .option('--wait', 'wait for the run to end, showing progress')
    .action(async (opts: CreateRunOptions, command: Command) => {
      const { api, options } = clientOf(command);
      const body = {
        profileId: opts.profile,
        filters: parseFiltersOption(opts.filters),
        baseRunId: opts.baseRunId,
        policyVersion: opts.policyVersion,
        trigger: 'cli',
      };
      const headers: Record<string, string> = opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {};
      let view = await api.json<RunView>('POST', '/export/runs', body, headers);
      if (opts.wait) {
        view = await waitForRun(api, view.id, { quiet: options.json });
      }
      emit(options, view, () => describeRun(view));
      failUnlessSucceeded(view, opts.wait);
    });

  run
    .command('status <runId>')
    .action(async (runId: string, _opts: unknown, command: Command) => {
      const { api, options } = clientOf(command);
      const view = await api.json<RunView>('GET', `/export/runs/${encodeURIComponent(runId)}`);
      emit(options, view, () => describeRun(view));
    });

  run
    .command('list')
    .option('--state <state>')
    .option('--profile <id>')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (opts: { state?: string; profile?: string; limit: string }, command: Command) => {
      const { api, options } = clientOf(command);
      const query = new URLSearchParams({ limit: opts.limit });
      if (opts.state) query.set('state', opts.state);
      if (opts.profile) query.set('profileId', opts.profile);
      const { runs } = await api.json<{ runs: RunView[] }>('GET', `/export/runs?${query}`);
      emit(options, runs, () => table([['RUN', 'PROFILE', 'STATE', 'CREATED'], ...runs.map((r) => [r.id, r.profileId, r.state, r.createdAt])]));
    });

  run
    .command('cancel <runId>')
    .action(async (runId: string, _opts: unknown, command: Command) => {
      const { api, options } = clientOf(command);
      const view = await api.json<RunView>('POST', `/export/runs/${encodeURIComponent(runId)}/cancel`);
      emit(options, view, () => `cancellation requested for ${runId}`);
    });

  run
    .command('get <runId>')
    .option('--manifest', 'print the manifest (export.json)')
    .option('--provenance', 'print provenance.json')
    .action(async (runId: string, opts: { manifest?: boolean; provenance?: boolean }, command: Command) => {
      const { api } = clientOf(command);
      const part = opts.provenance ? 'provenance' : opts.manifest ? 'manifest' : '';
      const response = await api.request('GET', `/export/runs/${encodeURIComponent(runId)}${part ? `/${part}` : ''}`);
      process.stdout.write(JSON.stringify(await response.json(), null, 2) + '\n');
    });

  run
    .command('download <runId>')
    .requiredOption('--out <file>', 'where to write the .tar.zst bundle')
    .option('--presigned', 'fetch from the bucket of an objstore distribution via a presigned URL')
    .option('--expires-in <seconds>', 'lifetime of the presigned URL (the API checks it)')
    .action(async (runId: string, opts: DownloadCommandOptions, command: Command) => {
      const { api, options } = clientOf(command);
      const result = await downloadBundle(api, runId, opts.out, {
        presigned: opts.presigned,
        expiresIn: opts.expiresIn ? Number(opts.expiresIn) : undefined,
      });
      emit(options, result, () => `downloaded ${result.path} (${result.size} bytes, sha256 ${result.sha256})`);
    });
}

interface DownloadCommandOptions {
  out: string;
  presigned?: boolean;
  expiresIn?: string;
}

function registerVerifyCommand(parent: Command) {
  parent
    .command('verify [bundle]')
    .description('Verify a bundle offline: a .tar.zst archive or an unpacked folder')
    .option('--manifest <file>', 'export.json (default: the one in the bundle)')
    .option('--sig <file>', 'detached signature (default: signatures/export.sig in the bundle)')
    .option('--jwks <file>', 'trusted public keys (default: the keys shipped in the bundle)')
    .option('--base <path>', 'for a delta: its base bundle (folder, .tar.zst or export.json)')
    .action(async (bundle: string | undefined, opts: VerifyCommandOptions, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const { bundleDir, cleanup } = await openBundle(bundle, opts.manifest);
      try {
        const result = await verifyBundle({
          bundleDir,
          manifestPath: opts.manifest ? path.resolve(opts.manifest) : undefined,
          signaturePath: opts.sig ? path.resolve(opts.sig) : undefined,
          jwks: opts.jwks ? (JSON.parse(await readFile(opts.jwks, 'utf8')) as JWKS) : undefined,
          base: opts.base ? await readBaseManifest(opts.base) : undefined,
        });
        emit(options, result, () => describeVerification(result));
        if (!result.ok) {
          process.exitCode = 6;
        }
      } finally {
        await cleanup();
      }
    });
}

interface VerifyCommandOptions {
  manifest?: string;
  sig?: string;
  jwks?: string;
  base?: string;
}

function describeVerification(result: VerifyResult): string {
  const failures = result.failures.map(
    (f) => `  ${f.check}${f.path ? ` ${f.path}` : ''}: ${f.message}`,
  );
  const warnings = result.warnings.map((warning) => `  warning: ${warning}`);
  const link = result.baseLink;
  const matched = link?.status === 'matched';
  const base = matched ? [`  base link OK: run ${link.runId} (${link.source})`] : [];
  if (!result.ok) {
    return ['FAILED:', ...failures, ...warnings].join('\n');
  }

  return [
    `OK: signature by key ${result.keyId} and ${result.filesChecked} file hashes verified`,
    ...base,
    ...warnings,
  ].join('\n');
}

async function openBundle(bundle: string | undefined, manifest: string | undefined) {
  const target = bundle ?? (manifest ? path.dirname(path.resolve(manifest)) : undefined);
  if (!target) {
    throw new StellaError('bad_request', 'name a bundle (folder or .tar.zst) or --manifest');
  }
  const info = await stat(target).catch(() => {
    throw new StellaError('not_found', `${target} does not exist`);
  });
  if (info.isDirectory()) {
    return { bundleDir: path.resolve(target), cleanup: async () => undefined };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stella-verify-'));
  await extractTarZst(target, dir);

  return { bundleDir: dir, cleanup: () => removeQuietly(dir) };
}

function parseFiltersOption(text: string | undefined) {
  if (!text) {
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new StellaError('bad_request', '--filters is not valid JSON', { cause: err });
  }
  const parsed = exportFiltersSchema.safeParse(value);
  if (!parsed.success) {
    throw new StellaError('bad_request', `--filters: ${parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ')}`);
  }

  return parsed.data;
}

function describeRun(view: RunView): string {
  const lines = [`run ${view.id}: ${view.state}`, `  profile ${view.profileId} (${view.profileKind})`];
  if (view.counts) {
    lines.push(`  records ${Object.entries(view.counts).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  }
  if (view.artifact) {
    lines.push(`  bundle ${view.artifact.size} bytes, sha256 ${view.artifact.sha256}`);
  }
  if (view.errorClass) {
    lines.push(`  error ${view.errorClass}: ${view.errorMessage}`);
  }

  return lines.join('\n');
}
