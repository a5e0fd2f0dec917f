import { apiJson } from './api-client.js';
import { el, mono, table, viewLink } from './dom.js';
import { fill, POLL_MS, stateCell, type View } from './view-kit.js';

export interface RunSummary {
  id: string;
  tenant: string;
  profileId: string;
  profileKind: string;
  trigger: string;
  state: string;
  phase: string;
  filters: Record<string, unknown>;
  counts: Record<string, number> | null;
  progress: Record<string, unknown> | null;
  artifact: { sha256: string; size: number; mediaType: string } | null;
  manifestSha256: string | null;
  errorClass: string | null;
  errorMessage: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  links: Record<string, string>;
}

const STATES = ['', 'queued', 'planning', 'writing', 'signing', 'distributing', 'succeeded',
  'failed', 'cancelled'];

// The newest runs of the tenant, refreshed every POLL_MS while the view is open.
export const runsView: View = async ({ root, poll }) => {
  const body = el('div', { attrs: { id: 'runs' } }, ['Loading…']);
  const stateFilter = el('select', { attrs: { id: 'state-filter', 'aria-label': 'State' } },
    STATES.map((state) => el('option', { attrs: { value: state } }, [state || 'any state'])));
  const refresh = () => fill(body, async () => [runTable(await listRuns(stateFilter.value))]);
  stateFilter.addEventListener('change', () => void refresh());

  root.replaceChildren(el('h2', {}, ['Runs']), el('label', {}, ['State ', stateFilter]), body);
  await refresh();
  poll(refresh, POLL_MS);
};

async function listRuns(state: string): Promise<RunSummary[]> {
  const query = new URLSearchParams({ limit: '100', ...(state ? { state } : {}) });

  return (await apiJson<{ runs: RunSummary[] }>('GET', `/export/runs?${query}`)).runs;
}

function runTable(runs: RunSummary[]): HTMLElement {
  if (runs.length === 0) return el('p', { class: 'muted' }, ['No runs yet.']);

  return table(
    ['run', 'profile', 'state', 'phase', 'progress', 'created', 'finished'],
    runs.map((run) => [
      el('td', { class: 'mono' }, [viewLink(run.id, 'runs', run.id)]),
      run.profileId,
      stateCell(run.state),
      run.phase,
      progressText(run),
      run.createdAt,
      run.finishedAt ?? '',
    ]),
  );
}

// What a run has done so far: its record counts once written, else its live progress.
export function progressText(run: RunSummary): string {
  const numbers = run.counts ?? run.progress;
  if (!numbers) return '';

  return Object.entries(numbers)
    .filter(([, value]) => typeof value === 'number' || typeof value === 'string')
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(', ');
}
