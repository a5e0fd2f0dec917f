import type { Command } from 'commander';
import { localKeyDir } from '../../api/auth/auth-config.js';
import { ensureLocalIssuerKey, mintLocalToken } from '../../api/auth/local-issuer.js';
import { isRole, ROLES, type Role } from '../../api/auth/roles.js';
import { StellaError } from '../../domain/errors.js';
import { loadConfig } from '../../platform/config.js';

interface TokenOptions {
  role: string[];
  ttl: string;
  subject: string;
}

// `stella auth token --role Export.Operator --tenant acme`: a token from the embedded
// issuer, printed alone on stdout so that `export STELLA_TOKEN=$(stella auth token …)`
// works. Needs read access to the data folder, where the issuer key lives.
export function registerAuthCommand(program: Command): void {
  const auth = program.command('auth').description('Tokens of the embedded (local) issuer');

  auth
    .command('token')
    .description('Print a bearer token for the global --tenant, signed by the local issuer')
    .option('--role <role...>', `one or more of ${ROLES.join(', ')}`, ['Export.Viewer'])
    .option('--ttl <seconds>', 'lifetime in seconds (at most 86400)', '3600')
    .option('--subject <name>', 'who the token speaks for (audit actor)', 'local-user')
    .action(async (opts: TokenOptions, command: Command) => {
      const { tenant } = command.optsWithGlobals<{ tenant: string }>();
      const key = ensureLocalIssuerKey(localKeyDir(loadConfig().dataDir));
      const token = await mintLocalToken(key, {
        tenant,
        roles: parseRoles(opts.role),
        subject: opts.subject,
        ttlSeconds: parseTtl(opts.ttl),
      });
      process.stdout.write(`${token}\n`);
    });
}

function parseRoles(names: string[]): Role[] {
  const unknown = names.filter((name) => !isRole(name));
  if (unknown.length > 0) {
    throw new StellaError(
      'bad_request',
      `unknown role ${unknown.join(', ')}; use ${ROLES.join(', ')}`,
    );
  }

  return names as Role[];
}

function parseTtl(text: string): number {
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400) {
    throw new StellaError('bad_request', '--ttl must be a whole number of seconds, 1 to 86400');
  }

  return seconds;
}
