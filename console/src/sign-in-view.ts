import { el } from './dom.js';
import { claimsOf, clearToken, saveToken } from './session.js';
import type { View } from './view-kit.js';

// Sign in by pasting a token printed by `stella auth token --role … --tenant …`.
export const signInView: View = async ({ root, navigate }) => {
  clearToken();
  const input = el('textarea', {
    attrs: { id: 'token', autocomplete: 'off', spellcheck: 'false', 'aria-label': 'Bearer token' },
  });
  const problem = el('p', { class: 'error-message' });
  const form = el('form', {
    attrs: { id: 'sign-in' },
    on: {
      submit: (event) => {
        event.preventDefault();
        signIn(input.value, problem, navigate);
      },
    },
  }, [
    el('label', { attrs: { for: 'token' } }, ['Bearer token']),
    input,
    el('button', { attrs: { type: 'submit' } }, ['Sign in']),
    problem,
  ]);

  root.replaceChildren(
    el('h2', {}, ['Sign in']),
    el('p', {}, [
      'Paste a token, e.g. the output of ',
      el('code', {}, ['npx stella auth token --role Export.Viewer --tenant default']),
      '. It is kept in this tab only (sessionStorage).',
    ]),
    form,
  );
};

function signIn(raw: string, problem: HTMLElement, navigate: (hash: string) => void): void {
  const token = raw.trim();
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) {
    problem.textContent = 'That is not a JWT (three base64url parts separated by dots).';
    return;
  }
  const { expiresAt } = claimsOf(token);
  if (expiresAt && expiresAt.getTime() < Date.now()) {
    problem.textContent = `That token expired at ${expiresAt.toISOString()}.`;
    return;
  }

  saveToken(token);
  navigate('#/runs');
}
