import { CommanderError } from 'commander';
import { EXIT_CODE_BY_CLASS, type ErrorClass } from '../domain/errors.js';
import { toDomainError } from '../api/http-errors.js';

// How every command's failure reaches the user: one line on stderr, plain text or, with
// --json, one JSON object that scripts can parse. The exit code is the same either way
// (0 ok, 2 bad arguments, 4 not found, 5 denied, 6 integrity failed, 8 export error).

export interface CliErrorReport {
  error_class: ErrorClass;
  message: string;
}

export interface CliFailure {
  exitCode: number;
  // null for commander's own non-errors (--help, --version), which print nothing more.
  report: CliErrorReport | null;
  stack?: string;
}

export function cliFailureOf(err: unknown): CliFailure {
  if (err instanceof CommanderError) {
    return commanderFailure(err);
  }

  const domain = toDomainError(err);
  const stack = domain.code === 'internal' ? ((err as Error)?.stack ?? String(err)) : undefined;

  return {
    exitCode: EXIT_CODE_BY_CLASS[domain.code],
    report: { error_class: domain.code, message: domain.message },
    stack,
  };
}

export function formatCliError(failure: CliFailure, json: boolean): string {
  if (failure.report === null) {
    return '';
  }
  if (json) {
    return JSON.stringify(failure.report) + '\n';
  }

  const { error_class: code, message } = failure.report;
  const stack = failure.stack ? `${failure.stack}\n` : '';

  return `stella: ${code}: ${message}\n${stack}`;
}

// `--json` is read from the raw arguments too: a parse error happens before commander
// has stored any option.
export function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');

  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

// Commander's argument errors (unknown option, missing argument) are bad_request, exit 2.
function commanderFailure(err: CommanderError): CliFailure {
  if (err.exitCode === 0) {
    return { exitCode: 0, report: null };
  }
  if (err.code === 'commander.help') {
    // A command group run without a subcommand: its help on stderr already says what to do.
    return { exitCode: 2, report: null };
  }

  const message = err.message.replace(/^error: /, '');

  return { exitCode: 2, report: { error_class: 'bad_request', message } };
}

// A reader that stopped reading (`stella … | head`) closes stdout: the next write fails
// with EPIPE. That is the reader's choice, not our error, so the CLI ends at once, exit 0.
export function endQuietlyOnClosedStdout(
  stdout: NodeJS.WriteStream,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') {
      throw err;
    }

    exit(0);
  });
}
