import { apiJson } from './api-client.js';
import { el, mono, table } from './dom.js';
import { fill, type View } from './view-kit.js';

export interface ProfileSummary {
  id: string;
  name: string;
  kind: string;
  builtin: boolean;
  config: { description?: string; filters?: Record<string, unknown> };
}

export async function listProfiles(): Promise<ProfileSummary[]> {
  return (await apiJson<{ profiles: ProfileSummary[] }>('GET', '/export/profiles')).profiles;
}

export const profilesView: View = async ({ root }) => {
  const body = el('div', { attrs: { id: 'profiles' } }, ['Loading…']);
  root.replaceChildren(el('h2', {}, ['Profiles']), body);

  await fill(body, async () => [profileTable(await listProfiles())]);
};

function profileTable(profiles: ProfileSummary[]): HTMLTableElement {
  return table(
    ['id', 'name', 'kind', 'built in', 'description', 'filters'],
    profiles.map((profile) => [
      mono(profile.id),
      profile.name,
      profile.kind,
      profile.builtin ? 'yes' : 'no',
      profile.config.description ?? '',
      mono(profile.config.filters ? JSON.stringify(profile.config.filters) : ''),
    ]),
  );
}
