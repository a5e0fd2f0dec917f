import { Command, Option } from 'commander';
import { loadConfig } from '../platform/config.js';
import { productVersion } from '../platform/product-version.js';
import { registerDemoCommand } from '../demo/demo-command.js';
import { registerAuthCommand } from './commands/auth-command.js';
import { registerDistributeCommand } from './commands/distribute-command.js';
import { registerDecryptCommand } from './commands/decrypt-command.js';
import { registerExportCommands } from './commands/export-commands.js';
import { registerIngestCommand } from './commands/ingest-command.js';
import { registerKeysCommand } from './commands/keys-command.js';
import { registerMirrorCommand } from './commands/mirror-command.js';
import { registerPolicyCommand } from './commands/policy-command.js';
import { registerProcessCommands } from './commands/process-commands.js';
import { registerScheduleCommand } from './commands/schedule-command.js';
import {
  cliFailureOf,
  endQuietlyOnClosedStdout,
  formatCliError,
  wantsJson,
} from './error-output.js';

// Exit codes: 0 ok, 2 bad arguments, 4 not found, 5 denied, 6 integrity failed, 8 export error.
// With --json every error is one JSON object on stderr (error-output.ts), for every command.
const json = wantsJson(process.argv.slice(2));
endQuietlyOnClosedStdout(process.stdout);
const program = new Command('stella')
  .version(productVersion())
  .description('Stella Export Center: verifiable bundles of vulnerability evidence')
  .addOption(new Option('--tenant <tenant>', 'tenant').env('STELLA_TENANT').default('default'))
  .addOption(new Option('--api-url <url>', 'API base URL').env('STELLA_API_URL').default(loadConfig().apiUrl))
  .option('--json', 'machine-readable output')
  .exitOverride()
  // Commander's own wording is replaced by the documented `stella: <class>: <message>`.
  .configureOutput({ outputError: () => undefined });

registerProcessCommands(program);
registerIngestCommand(program);
registerExportCommands(program);
registerKeysCommand(program);
registerDecryptCommand(program);
registerMirrorCommand(program);
registerPolicyCommand(program);
registerDistributeCommand(program);
registerScheduleCommand(program);
registerDemoCommand(program);
registerAuthCommand(program);
program.commands.forEach(applyExitOverride);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const failure = cliFailureOf(err);
  process.stderr.write(formatCliError(failure, json));
  process.exitCode = failure.exitCode;
}

function applyExitOverride(command: Command) {
  command.exitOverride();
  command.commands.forEach(applyExitOverride);
}
