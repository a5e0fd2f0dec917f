import type { Command } from 'commander';
import { StellaError } from '../../domain/errors.js';
import { exportFiltersSchema } from '../../domain/filters.js';
import type { CreateScheduleRequest, ScheduleView } from '../../schedules/export-schedules.js';
import { ApiClient } from '../api-client.js';
import { emit, table } from '../output.js';

interface GlobalOptions {
  tenant: string;
  apiUrl: string;
  json?: boolean;
}

interface CreateOptions {
  id: string;
  profile?: string;
  filters?: string;
  retention?: boolean;
  dataDays?: string;
  metadataDays?: string;
  cron?: string[];
  every?: string;
  timezone?: string;
  overlap: string;
  catchupWindow: string;
  jitter: string;
  paused?: boolean;
  note?: string;
}

// `stella export schedules create|list|get|pause|unpause|trigger|delete`: Temporal Schedules
// that start export runs (or retention) for this tenant, through /export/schedules.
export function registerScheduleCommand(program: Command): void {
  const exportCommand = program.commands.find((command) => command.name() === 'export') ?? program.command('export');
  const schedules = exportCommand.command('schedules').description('Scheduled export runs and retention');

  schedules
    .command('create')
    .description('Create a schedule: --profile for export runs, or --retention')
    .requiredOption('--id <id>', 'schedule id')
    .option('--profile <id>', 'profile whose runs the schedule starts')
    .option('--filters <json>', 'filters for the runs, as JSON')
    .option('--retention', 'prune old bundles instead of exporting')
    .option('--data-days <n>', 'retention: data files are removed after this many days')
    .option('--metadata-days <n>', 'retention: manifests and signatures are removed after this many')
    .option('--cron <expression...>', 'cron expressions, e.g. "0 2 * * *"')
    .option('--every <seconds>', 'fixed interval instead of cron')
    .option('--timezone <zone>', 'time zone of the cron expressions, e.g. Europe/Berlin')
    .option('--overlap <policy>', 'skip, buffer_one, buffer_all, cancel_other, terminate_other, allow_all', 'skip')
    .option('--catchup-window <seconds>', 'how late a missed firing may still run', '60')
    .option('--jitter <seconds>', 'random delay added to each firing', '0')
    .option('--paused', 'create it paused')
    .option('--note <text>', 'a note shown with the schedule')
    .action(async (opts: CreateOptions, command: Command) => {
      const { api, options } = clientOf(command);
      const body = createRequest(opts);
      const path = body.action.type === 'retention' ? '/export/retention/schedules' : '/export/schedules';
      const view = await api.json<ScheduleView>('POST', path, body);
      emit(options, view, () => describeSchedule(view));
    });

  schedules.command('list').action(async (_opts: unknown, command: Command) => {
    const { api, options } = clientOf(command);
    const { schedules: list } = await api.json<{ schedules: ScheduleView[] }>('GET', '/export/schedules');
    emit(options, list, () =>
      table([
        ['ID', 'ACTION', 'WHEN', 'PAUSED', 'NEXT', 'FIRED', 'SKIPPED'],
        ...list.map((s) => [s.id, actionOf(s), whenOf(s), String(s.paused), s.nextFireTimes[0] ?? '-', String(s.firings), String(s.skippedOverlaps)]),
      ]),
    );
  });

  schedules.command('get <id>').action(async (id: string, _opts: unknown, command: Command) => {
    const { api, options } = clientOf(command);
    const view = await api.json<ScheduleView>('GET', schedulePath(id));
    emit(options, view, () => describeSchedule(view));
  });

  for (const verb of ['pause', 'unpause', 'trigger'] as const) {
    schedules
      .command(`${verb} <id>`)
      .option('--note <text>', 'why (pause and unpause)')
      .action(async (id: string, opts: { note?: string }, command: Command) => {
        const { api, options } = clientOf(command);
        const body = verb === 'trigger' ? undefined : { note: opts.note };
        const view = await api.json<ScheduleView>('POST', `${schedulePath(id)}/${verb}`, body);
        emit(options, view, () => describeSchedule(view));
      });
  }

  schedules.command('delete <id>').action(async (id: string, _opts: unknown, command: Command) => {
    const { api, options } = clientOf(command);
    await api.json('DELETE', schedulePath(id));
    emit(options, { deleted: id }, () => `deleted schedule ${id}`);
  });
}

function clientOf(command: Command): { api: ApiClient; options: GlobalOptions } {
  const options = command.optsWithGlobals<GlobalOptions>();

  return { api: new ApiClient({ baseUrl: options.apiUrl, tenant: options.tenant }), options };
}

function schedulePath(id: string): string {
  return `/export/schedules/${encodeURIComponent(id)}`;
}

// The API validates the whole request; here only what the flags cannot say by themselves.
function createRequest(opts: CreateOptions): CreateScheduleRequest {
  return {
    id: opts.id,
    action: actionFrom(opts),
    cron: opts.cron,
    everySeconds: opts.every === undefined ? undefined : integer('--every', opts.every),
    timezone: opts.timezone,
    overlap: opts.overlap as CreateScheduleRequest['overlap'],
    catchupWindowSeconds: integer('--catchup-window', opts.catchupWindow),
    jitterSeconds: integer('--jitter', opts.jitter),
    paused: opts.paused ?? false,
    note: opts.note,
  };
}

function actionFrom(opts: CreateOptions): CreateScheduleRequest['action'] {
  if (opts.retention) {
    if (!opts.dataDays || !opts.metadataDays) {
      throw new StellaError('bad_request', '--retention needs --data-days and --metadata-days');
    }
    const defaults = { dataDays: integer('--data-days', opts.dataDays), metadataDays: integer('--metadata-days', opts.metadataDays) };

    return { type: 'retention', defaults };
  }
  if (!opts.profile) {
    throw new StellaError('bad_request', 'name the profile to export with --profile (or use --retention)');
  }

  return { type: 'export', profileId: opts.profile, filters: filtersFrom(opts.filters) };
}

function filtersFrom(text: string | undefined) {
  if (!text) {
    return undefined;
  }
  try {
    return exportFiltersSchema.parse(JSON.parse(text));
  } catch (err) {
    throw new StellaError('bad_request', `--filters: ${(err as Error).message}`, { cause: err });
  }
}

function integer(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value)) {
    throw new StellaError('bad_request', `${flag} must be a whole number, not ${JSON.stringify(text)}`);
  }

  return value;
}

function actionOf(view: ScheduleView): string {
  return view.action.type === 'export' ? `export ${view.action.profileId}` : 'retention';
}

function whenOf(view: ScheduleView): string {
  return view.cron ? view.cron.join(' | ') : `every ${view.everySeconds}s`;
}

function describeSchedule(view: ScheduleView): string {
  return [
    `schedule ${view.id}: ${actionOf(view)}, ${whenOf(view)}${view.paused ? ' (paused)' : ''}`,
    `  overlap ${view.overlap}, catch-up window ${view.catchupWindowSeconds}s, jitter ${view.jitterSeconds}s`,
    `  fired ${view.firings}, skipped (overlap) ${view.skippedOverlaps}, missed ${view.missedCatchupWindow}`,
    `  next ${view.nextFireTimes[0] ?? '-'}${view.running.length ? `, running ${view.running.join(', ')}` : ''}`,
  ].join('\n');
}
