/// <reference lib="dom" />
import type { Part } from '../api.ts';

/** Small DOM helpers: the page is plain DOM, these keep its building code short. */

type Child = Node | string | number | null | undefined | false;

/** Attributes by name (`class`, `data-panel`, …); `on` holds event listeners by event name. */
export interface Attributes {
  readonly [name: string]: string | number | boolean | undefined | Listeners;
  readonly on?: Listeners;
}
type Listeners = Readonly<Record<string, (event: Event) => void>>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'on' && typeof value === 'object') {
      for (const [event, listener] of Object.entries(value)) element.addEventListener(event, listener);
    } else if (value === true) {
      element.setAttribute(name, '');
    } else if (value !== false && value !== undefined && typeof value !== 'object') {
      element.setAttribute(name, String(value));
    }
  }
  element.append(...nodes(children));
  return element;
}

function nodes(children: readonly Child[]): (Node | string)[] {
  return children.flatMap((child) =>
    child === null || child === undefined || child === false
      ? []
      : [typeof child === 'number' ? String(child) : child],
  );
}

/** Replaces an element's content. */
export function fill(element: Element, ...children: Child[]): void {
  element.replaceChildren(...nodes(children));
}

/** A panel's card: `data-panel` is how the browser test finds it; `.panel-error` holds a render failure. */
export function card(panel: string, title: string, ...children: Child[]): HTMLElement {
  return h(
    'section',
    { class: 'card', 'data-panel': panel },
    h('h2', {}, title),
    h('div', { class: 'panel-error' }),
    ...children,
  );
}

/** The inline error of a part that could not be read. */
export function errorLine(message: string): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, message);
}

/** `render(data)` for a readable part, its error otherwise. */
export function partView<T>(part: Part<T>, render: (data: T) => Child): Child {
  return part.ok ? render(part.data) : errorLine(part.error);
}

/** A labelled figure: the big number of a stage, with a smaller line under it. */
export function figure(label: string, value: string, note?: string): HTMLElement {
  return h(
    'div',
    { class: 'figure' },
    h('span', { class: 'label' }, label),
    h('span', { class: 'value' }, value),
    note === undefined ? null : h('span', { class: 'note' }, note),
  );
}

/** A state as a coloured chip (`success`, `failed`, `running`, …; null reads "none"). */
export function chip(state: string | null, text = state ?? 'none'): HTMLElement {
  return h('span', { class: `chip state-${state ?? 'none'}` }, text);
}
