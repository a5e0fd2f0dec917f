import { apiJson } from './api-client.js';
import { el } from './dom.js';
import { listProfiles } from './profiles-view.js';
import type { RunSummary } from './runs-view.js';
import { errorBox, type View } from './view-kit.js';

// Export.Operator: start a run of a profile, with optional filters (docs/api.md § Filters).
export const createRunView: View = async ({ root, navigate }) => {
  const profile = el('select', { attrs: { id: 'profile', name: 'profile' } });
  const filters = el('textarea', {
    attrs: { id: 'filters', name: 'filters', placeholder: '{"ecosystems": ["npm"]}' },
  });
  const outcome = el('div', { attrs: { id: 'create-outcome' } });
  const form = el('form', {
    attrs: { id: 'create-run' },
    on: {
      submit: (event) => {
        event.preventDefault();
        void create(profile.value, filters.value, outcome, navigate);
      },
    },
  }, [
    el('label', { attrs: { for: 'profile' } }, ['Profile']), profile,
    el('label', { attrs: { for: 'filters' } }, ['Filters (JSON, optional)']), filters,
    el('button', { attrs: { type: 'submit' } }, ['Create run']),
    outcome,
  ]);
  root.replaceChildren(el('h2', {}, ['New run']), form);

  try {
    profile.replaceChildren(...(await listProfiles()).map((p) =>
      el('option', { attrs: { value: p.id } }, [`${p.id} — ${p.name} (${p.kind})`])));
  } catch (err) {
    outcome.replaceChildren(errorBox(err));
  }
};

async function create(
  profileId: string,
  rawFilters: string,
  outcome: HTMLElement,
  navigate: (hash: string) => void,
): Promise<void> {
  let filters: unknown;
  try {
    filters = rawFilters.trim() ? JSON.parse(rawFilters) : undefined;
  } catch (err) {
    outcome.replaceChildren(errorBox(new Error(`filters are not JSON: ${String(err)}`)));
    return;
  }

  try {
    const body = { profileId, ...(filters === undefined ? {} : { filters }) };
    const run = await apiJson<RunSummary>('POST', '/export/runs', body);
    navigate(`#/runs/${encodeURIComponent(run.id)}`);
  } catch (err) {
    outcome.replaceChildren(errorBox(err));
  }
}
