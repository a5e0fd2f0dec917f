import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { parseIdentityFile } from '../../adapters/mirror/mirror-encryption.js';
import { writeOciLayout } from '../../adapters/mirror/oci-layout.js';
import type { RunView } from '../../api/run-view.js';
import type { ExportManifest } from '../../bundle/manifest.js';
import { StellaError } from '../../domain/errors.js';
import { importBundle } from '../../mirror-reader/import-bundle.js';
import { documentsDigest, openMirrorDb, readHead, stateDigests } from '../../mirror-reader/mirror-database.js';
import { startMirrorServer } from '../../mirror-reader/mirror-server.js';
import type { KeyTrust } from '../../mirror-reader/trusted-keys.js';
import { openBundle } from '../../mirror-reader/bundle-source.js';
import { verifyBundle } from '../../signing/verify-bundle.js';
import type { JWKS } from '../../signing/signer.js';
import { ApiClient } from '../api-client.js';
import { emit } from '../output.js';
import { failUnlessSucceeded, waitForRun } from '../wait-for-run.js';

interface GlobalOptions {
  tenant: string;
  apiUrl: string;
  json?: boolean;
}

const DEFAULT_ROOT = process.env.STELLA_MIRROR_ROOT ?? path.join('.data', 'mirror');

// `stella mirror …`: make a delta export, and the air-gapped side: import bundles into a
// local mirror, serve it, convert a bundle to an OCI image layout.
export function registerMirrorCommand(program: Command): void {
  const mirror = program.command('mirror').description('Air-gap mirrors: deltas, import, serve, OCI layout');
  registerDelta(mirror);
  registerImport(mirror);
  registerServe(mirror);
  registerStatus(mirror);
  registerOci(mirror);
}

function registerDelta(parent: Command) {
  parent
    .command('delta')
    .description('Export what changed since a base mirror export')
    .requiredOption('--base <run>', 'the base export: its run id or its export.json')
    .option('--profile <id>', 'a mirror:delta profile', 'prof_mirror_delta')
    .option('--wait', 'wait for the run to end')
    .action(async (opts: { base: string; profile: string; wait?: boolean }, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const api = new ApiClient({ baseUrl: options.apiUrl, tenant: options.tenant });
      const body = { profileId: opts.profile, baseRunId: await baseRunId(opts.base), trigger: 'cli' };
      let view = await api.json<RunView>('POST', '/export/runs', body);
      if (opts.wait) {
        view = await waitForRun(api, view.id, { quiet: options.json });
      }
      emit(options, view, () => `run ${view.id}: ${view.state}`);
      failUnlessSucceeded(view, opts.wait);
    });
}

async function baseRunId(base: string): Promise<string> {
  const isFile = await stat(base).then((s) => s.isFile(), () => false);
  if (!isFile) {
    return base;
  }
  const manifest = JSON.parse(await readFile(base, 'utf8')) as Partial<ExportManifest>;
  if (typeof manifest.runId !== 'string') {
    throw new StellaError('bad_request', `${base} is not an export.json`);
  }

  return manifest.runId;
}

interface ImportCommandOptions {
  root: string;
  jwks?: string;
  tag?: string;
  identity?: string;
}

const TRUST_LABELS: Record<KeyTrust, string> = {
  pinned: 'the pinned key set',
  provided: 'the --jwks key set, now pinned',
  'first-use': 'the bundle\'s own key set, pinned on first use',
};

function registerImport(parent: Command) {
  parent
    .command('import <bundle>')
    .description('Verify a bundle (folder, .tar.zst or OCI layout) and apply it to the mirror')
    .option('--root <dir>', 'the mirror folder', DEFAULT_ROOT)
    .option(
      '--jwks <file>',
      "the publisher's public keys: verified against, then pinned in the root as the only " +
        'trusted keys (default: the pinned keys; on a first import, the bundle\'s own, pinned)',
    )
    .option('--tag <ref>', 'which bundle of an OCI layout')
    .option('--identity <file>', 'age identity file, for an encrypted bundle')
    .action(async (bundle: string, opts: ImportCommandOptions, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const result = await importBundle({
        root: opts.root,
        bundle,
        ociReference: opts.tag,
        jwks: opts.jwks ? (JSON.parse(await readFile(opts.jwks, 'utf8')) as JWKS) : undefined,
        identities: opts.identity ? parseIdentityFile(await readFile(opts.identity, 'utf8')) : undefined,
      });
      emit(options, result, () =>
        [
          `imported ${result.kind} ${result.runId} into ${opts.root}`,
          `signed by key ${result.keyId} (${TRUST_LABELS[result.trust]})`,
          ...result.warnings.map((w) => `warning: ${w}`),
        ].join('\n'),
      );
    });
}

function registerServe(parent: Command) {
  parent
    .command('serve')
    .description('Serve the mirror read-only over HTTP on 127.0.0.1')
    .option('--root <dir>', 'the mirror folder', DEFAULT_ROOT)
    .option('--port <n>', 'port', '8090')
    .action(async (opts: { root: string; port: string }) => {
      const server = await startMirrorServer({ root: opts.root, port: Number(opts.port) });
      process.stdout.write(`mirror ${opts.root} served at ${server.url}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
    });
}

function registerStatus(parent: Command) {
  parent
    .command('status')
    .description('What the mirror holds')
    .option('--root <dir>', 'the mirror folder', DEFAULT_ROOT)
    .action((opts: { root: string }, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const db = openMirrorDb(opts.root);
      try {
        const state = { head: readHead(db) ?? null, stateDigest: stateDigests(db), documents: documentsDigest(db) };
        emit(options, state, () => (state.head ? `holds ${state.head.kind} ${state.head.runId}` : 'empty'));
      } finally {
        db.close();
      }
    });
}

function registerOci(parent: Command) {
  parent
    .command('oci <bundle>')
    .description('Write a verified bundle into an OCI image layout (blobs shared with earlier bundles)')
    .requiredOption('--out <dir>', 'the OCI layout folder (created or extended)')
    .option('--tag <ref>', 'the tag (default: the run id)')
    .option('--shard-bytes <n>', 'above this size, one manifest per content type')
    .action(async (bundle: string, opts: { out: string; tag?: string; shardBytes?: string }, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const opened = await openBundle(bundle);
      try {
        const verified = await verifyBundle({ bundleDir: opened.dir });
        if (!verified.ok) {
          throw new StellaError('integrity_failed', `bundle failed verification: ${verified.failures[0]?.message}`);
        }
        const shardBytes = opts.shardBytes ? Number(opts.shardBytes) : undefined;
        const result = await writeOciLayout(opened.dir, opts.out, { tag: opts.tag, shardBytes });
        emit(options, result, () => `wrote ${opts.out}:${result.tag} (${result.manifests.length} manifest(s), ${result.blobsWritten} new blobs, ${result.blobsReused} reused)`);
      } finally {
        await opened.cleanup();
      }
    });
}
