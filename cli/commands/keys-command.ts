import type { Command } from 'commander';
import type { JWKS, PublishedJwk } from '../../signing/signer.js';
import { ApiClient } from '../api-client.js';
import { emit, table } from '../output.js';

interface GlobalOptions {
  tenant: string;
  apiUrl: string;
  json?: boolean;
}

interface RotateAnswer {
  keyId: string;
  retired: string[];
}

interface CompromiseAnswer {
  keyId: string;
  activeKeyId: string | null;
}

// `stella export keys …`: the --tenant's signing keys through the API. `list --jwks`
// prints the bare key set, ready for `stella export verify BUNDLE --jwks <(…)`.
export function registerKeysCommand(program: Command): void {
  const parent = program.commands.find((command) => command.name() === 'export') ?? program;
  const keys = parent.command('keys').description('Signing keys: list, rotate, mark compromised');

  keys
    .command('list')
    .option('--jwks', 'print the key set as JSON (RFC 7517), statuses included')
    .action(async (opts: { jwks?: boolean }, command: Command) => {
      const { api, options } = clientOf(command);
      const query = new URLSearchParams({ tenant: options.tenant });
      const jwks = await api.json<JWKS>('GET', `/export/jwks?${query}`);
      if (opts.jwks) {
        process.stdout.write(`${JSON.stringify(jwks, null, 2)}\n`);
        return;
      }
      emit(options, jwks, () => keyTable(jwks.keys));
    });

  keys
    .command('rotate')
    .option('--algorithm <alg>', 'EdDSA or ES256 (default: the current key\'s)')
    .action(async (opts: { algorithm?: string }, command: Command) => {
      const { api, options } = clientOf(command);
      const body = opts.algorithm ? { algorithm: opts.algorithm } : {};
      const answer = await api.json<RotateAnswer>('POST', '/export/keys/rotate', body);
      emit(options, answer, () => describeRotation(answer));
    });

  keys
    .command('compromise <kid>')
    .description('Mark a key compromised: bundles signed with it no longer verify')
    .action(async (kid: string, _opts: unknown, command: Command) => {
      const { api, options } = clientOf(command);
      const path = `/export/keys/${encodeURIComponent(kid)}/compromise`;
      const answer = await api.json<CompromiseAnswer>('POST', path, {});
      emit(options, answer, () => describeCompromise(answer));
    });
}

function clientOf(command: Command): { api: ApiClient; options: GlobalOptions } {
  const options = command.optsWithGlobals<GlobalOptions>();

  return { api: new ApiClient({ baseUrl: options.apiUrl, tenant: options.tenant }), options };
}

function keyTable(keys: PublishedJwk[]): string {
  const rows = keys.map((key) => [key.kid ?? '', key.alg ?? '', key.status ?? 'active']);

  return table([['KID', 'ALG', 'STATUS'], ...rows]);
}

function describeRotation(answer: RotateAnswer): string {
  const retired = answer.retired.length > 0 ? `; retired ${answer.retired.join(', ')}` : '';

  return `new runs sign with ${answer.keyId}${retired}`;
}

function describeCompromise(answer: CompromiseAnswer): string {
  const next = answer.activeKeyId
    ? `new runs sign with ${answer.activeKeyId}`
    : 'no key is active: runs fail to sign until `stella export keys rotate`';

  return `marked ${answer.keyId} compromised; ${next}`;
}
