import { ApiError } from './api-client.js';
import { el, nodesOf, type Child } from './dom.js';
import type { SessionClaims } from './session.js';

export interface ViewContext {
  root: HTMLElement;
  claims: SessionClaims;
  params: string[]; // the hash segments after the view name, decoded
  // Calls `tick` every `ms` until the user leaves the view.
  poll(tick: () => Promise<void>, ms: number): void;
  navigate(hash: string): void;
}

export type View = (context: ViewContext) => Promise<void>;

export const POLL_MS = 2000;

export const TERMINAL_STATES = ['succeeded', 'failed', 'cancelled'];

// An API failure shows its error_class as the API named it, then its message.
export function errorBox(err: unknown): HTMLElement {
  const [errorClass, message] =
    err instanceof ApiError
      ? [err.errorClass, err.message]
      : ['console_error', err instanceof Error ? err.message : String(err)];

  return el('div', { class: 'error', attrs: { role: 'alert' } }, [
    el('span', { class: 'error-class' }, [errorClass]),
    ': ',
    el('span', { class: 'error-message' }, [message]),
  ]);
}

export function section(title: string, children: Child[], id?: string): HTMLElement {
  return el('section', id ? { attrs: { id } } : {}, [el('h3', {}, [title]), ...children]);
}

export function stateCell(state: string): HTMLTableCellElement {
  return el('td', { class: `state state-${state.replace(/[^a-z]/g, '')}` }, [state]);
}

// Replaces what `target` shows with the outcome of `load`, or with the API's error.
export async function fill(target: HTMLElement, load: () => Promise<Child[]>): Promise<void> {
  try {
    target.replaceChildren(...nodesOf(await load()));
  } catch (err) {
    target.replaceChildren(errorBox(err));
  }
}
