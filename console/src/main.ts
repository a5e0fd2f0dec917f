import { auditView, keysView } from './admin-views.js';
import { createRunView } from './create-run-view.js';
import { el } from './dom.js';
import { profilesView } from './profiles-view.js';
import { runDetailView } from './run-detail-view.js';
import { runsView } from './runs-view.js';
import { claimsOf, mayUse, readToken, type Role, type SessionClaims } from './session.js';
import { signInView } from './sign-in-view.js';
import { errorBox, type View, type ViewContext } from './view-kit.js';

interface Route {
  name: string;
  label?: string; // shown in the navigation when set
  view: View;
  role: Role;
}

// Hash routes (#/runs/ID): the page never reloads, and only ids ever appear in the URL.
const ROUTES: Route[] = [
  { name: 'runs', label: 'Runs', view: runsView, role: 'Export.Viewer' },
  { name: 'profiles', label: 'Profiles', view: profilesView, role: 'Export.Viewer' },
  { name: 'new-run', label: 'New run', view: createRunView, role: 'Export.Operator' },
  { name: 'audit', label: 'Audit', view: auditView, role: 'Export.Admin' },
  { name: 'keys', label: 'Keys', view: keysView, role: 'Export.Admin' },
];

let leaveView: () => void = () => undefined;

function route(): void {
  leaveView();
  const root = document.getElementById('view')!;
  const [name = 'runs', ...params] = location.hash.replace(/^#\/?/, '').split('/').map(decode);
  const token = readToken();
  if (!token || name === 'sign-in') {
    renderChrome(undefined);
    void signInView(context(root, { roles: [] }, []));
    return;
  }

  const claims = claimsOf(token);
  renderChrome(claims);
  const chosen = name === 'runs' && params.length ? runDetailView : viewFor(name, claims);
  chosen(context(root, claims, params)).catch((err: unknown) => {
    root.replaceChildren(errorBox(err));
  });
}

function viewFor(name: string, claims: SessionClaims): View {
  const found = ROUTES.find((candidate) => candidate.name === name);
  if (!found) return async ({ root }) => root.replaceChildren(el('p', {}, [`No view ${name}.`]));
  if (!mayUse(claims, found.role)) {
    const refusal = `${found.label} needs ${found.role}.`;

    return async ({ root }) => root.replaceChildren(el('p', {}, [refusal]));
  }

  return found.view;
}

// Polls stop when the user leaves the view, so a hidden view never calls the API.
function context(root: HTMLElement, claims: SessionClaims, params: string[]): ViewContext {
  const timers: number[] = [];
  leaveView = () => timers.splice(0).forEach((timer) => clearInterval(timer));

  return {
    root,
    claims,
    params,
    poll: (tick, ms) => {
      let busy = false;
      timers.push(window.setInterval(() => {
        if (busy) return;
        busy = true;
        tick().finally(() => { busy = false; });
      }, ms));
    },
    navigate: (hash) => {
      if (location.hash === hash) route();
      else location.hash = hash;
    },
  };
}

function renderChrome(claims: SessionClaims | undefined): void {
  const nav = document.getElementById('nav')!;
  const who = document.getElementById('who')!;
  if (!claims) {
    nav.replaceChildren();
    who.textContent = '';
    return;
  }

  const links = ROUTES.filter((r) => r.label && mayUse(claims, r.role))
    .map((r) => el('a', { attrs: { href: `#/${r.name}` } }, [r.label!]));
  nav.replaceChildren(...links, el('a', { attrs: { href: '#/sign-in' } }, ['Sign out']));
  const roles = claims.roles.join(', ') || 'roles unknown';
  const subject = claims.subject ?? 'signed in';
  who.textContent = `${subject} · tenant ${claims.tenant ?? '?'} · ${roles}`;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

window.addEventListener('hashchange', route);
route();
