// The only way the console builds markup: elements and text nodes, never an HTML string, so a
// value from the API cannot become markup (the CSP's Trusted Types would refuse it anyway).

export type Child = Node | string | number | null | undefined | false;

export interface ElementProps {
  class?: string;
  attrs?: Record<string, string>;
  on?: { [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void };
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: ElementProps = {},
  children: Child[] = [],
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.class) element.className = props.class;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    setSafeAttribute(element, name, value);
  }
  for (const [type, handler] of Object.entries(props.on ?? {})) {
    element.addEventListener(type, handler as EventListener);
  }
  element.append(...nodesOf(children));

  return element;
}

export function nodesOf(children: Child[]): Node[] {
  return children.flatMap((child) => {
    if (child === null || child === undefined || child === false) return [];

    return [child instanceof Node ? child : document.createTextNode(String(child))];
  });
}

// Event handler attributes and script-bearing links are refused outright: handlers are
// attached with addEventListener, and links only point inside the console or the API.
function setSafeAttribute(element: HTMLElement, name: string, value: string): void {
  if (/^on/i.test(name)) {
    throw new Error(`event attribute ${name} is not allowed`);
  }
  if ((name === 'href' || name === 'src') && !/^[#/]/.test(value)) {
    throw new Error(`${name} must stay on this origin`);
  }

  element.setAttribute(name, value);
}

// A link to a console view; the id part is encoded so that it stays one hash segment.
export function viewLink(label: Child, ...segments: string[]): HTMLAnchorElement {
  const hash = '#/' + segments.map(encodeURIComponent).join('/');

  return el('a', { attrs: { href: hash } }, [label]);
}

export function table(headers: string[], rows: Child[][]): HTMLTableElement {
  const head = el('thead', {}, [el('tr', {}, headers.map((h) => el('th', {}, [h])))]);
  const body = el('tbody', {}, rows.map((row) => el('tr', {}, row.map(cell))));

  return el('table', {}, [head, body]);
}

function cell(value: Child): HTMLTableCellElement {
  return value instanceof HTMLTableCellElement ? value : el('td', {}, [value]);
}

export function mono(value: Child): HTMLTableCellElement {
  return el('td', { class: 'mono' }, [value]);
}

// Any value, shown as text: objects as indented JSON.
export function shown(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'object') return JSON.stringify(value, null, 2);

  return String(value);
}
