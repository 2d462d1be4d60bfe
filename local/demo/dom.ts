/// <reference lib="dom" />
/**
 * The demo page's two DOM helpers. Everything users wrote reaches the page as text nodes: `h` takes
 * strings as children and never parses markup, and nothing in the demo touches `innerHTML`.
 */

export interface Props {
  readonly className?: string;
  /** `data-testid`, the handle the browser test uses. */
  readonly testId?: string;
  readonly attrs?: Readonly<Record<string, string>>;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: readonly (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.className !== undefined) element.className = props.className;
  if (props.testId !== undefined) element.dataset.testid = props.testId;
  for (const [name, value] of Object.entries(props.attrs ?? {})) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

/** The element with this id; a missing one is a bug in index.html, so it fails loudly. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`index.html has no #${id}`);
  return element as T;
}

/**
 * Makes `parent`'s children one element per item, in order, reusing the element of a key already
 * shown: a live region then announces only what is new, and a focused button keeps its focus.
 */
export function syncKeyed<T>(
  parent: HTMLElement,
  items: readonly T[],
  keyOf: (item: T) => string,
  create: (item: T) => HTMLElement,
  update: (element: HTMLElement, item: T) => void,
): void {
  const shown = new Map<string, HTMLElement>();
  for (const child of Array.from(parent.children)) {
    if (child instanceof HTMLElement && child.dataset.key !== undefined) shown.set(child.dataset.key, child);
  }
  items.forEach((item, index) => {
    const key = keyOf(item);
    let element = shown.get(key);
    shown.delete(key);
    if (element === undefined) {
      element = create(item);
      element.dataset.key = key;
    }
    update(element, item);
    const current = parent.children[index];
    if (current !== element) parent.insertBefore(element, current ?? null);
  });
  for (const stale of shown.values()) stale.remove();
}

export function timeOf(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? ''
    : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}
