import { mkdtemp, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import {
  decryptMirrorBundle,
  parseIdentityFile,
} from '../../adapters/mirror/mirror-encryption.js';
import { extractTarZst } from '../../bundle/extract.js';
import { removeQuietly } from '../../bundle/files.js';
import { StellaError } from '../../domain/errors.js';
import type { JWKS } from '../../signing/signer.js';
import { verifyBundle } from '../../signing/verify-bundle.js';
import { emit } from '../output.js';

interface DecryptOptions {
  identity: string;
  out: string;
  jwks?: string;
}

// `stella export decrypt BUNDLE --identity FILE --out DIR`: verifies the encrypted bundle
// (signature and ciphertext hashes), then restores its plaintext tree under DIR, each file
// checked against the sha256 the signed encryption.json records.
export function registerDecryptCommand(program: Command): void {
  const parent = program.commands.find((command) => command.name() === 'export') ?? program;
  parent
    .command('decrypt <bundle>')
    .description('Decrypt an encrypted mirror bundle (folder or .tar.zst) with age identities')
    .requiredOption('--identity <file>', 'age identity file (age identity lines, AGE-SECRET-KEY-…)')
    .requiredOption('--out <dir>', 'new folder for the decrypted bundle')
    .option('--jwks <file>', 'trusted public keys (default: the keys shipped in the bundle)')
    .action(async (bundle: string, opts: DecryptOptions, command: Command) => {
      const options = command.optsWithGlobals<{ json?: boolean }>();
      const identities = parseIdentityFile(await readFile(opts.identity, 'utf8'));
      const { bundleDir, cleanup } = await openBundle(bundle);
      try {
        await verifyOrThrow(bundleDir, opts.jwks);
        const outDir = path.resolve(opts.out);
        const result = await decryptMirrorBundle({ bundleDir, outDir, identities });
        emit(options, { outDir, ...result }, () =>
          `decrypted ${result.decrypted.length} files into ${outDir}`,
        );
      } finally {
        await cleanup();
      }
    });
}

async function verifyOrThrow(bundleDir: string, jwksFile: string | undefined): Promise<void> {
  const jwks = jwksFile ? (JSON.parse(await readFile(jwksFile, 'utf8')) as JWKS) : undefined;
  const result = await verifyBundle({ bundleDir, jwks });
  if (result.ok) return;

  const listed = result.failures.map((f) => `${f.check} ${f.path ?? ''}: ${f.message}`);
  throw new StellaError('integrity_failed', `the bundle does not verify: ${listed.join('; ')}`);
}

async function openBundle(bundle: string) {
  const info = await stat(bundle).catch((err: unknown) => {
    throw new StellaError('not_found', `${bundle} does not exist`, { cause: err });
  });
  if (info.isDirectory()) {
    return { bundleDir: path.resolve(bundle), cleanup: async () => undefined };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stella-decrypt-'));
  await extractTarZst(bundle, dir);

  return { bundleDir: dir, cleanup: () => removeQuietly(dir) };
}
