/// <reference lib="dom" />
import type { SchemaVersion, Schemas } from '../api.ts';
import { diffSchemas, isAvroRecord } from '../schema-diff.ts';
import type { SchemaChange } from '../schema-diff.ts';
import { describeError } from './client.ts';
import type { Client } from './client.ts';
import { card, errorLine, fill, h } from './dom.ts';
import type { Panel } from './panel.ts';

/**
 * The registry's subjects: versions and compatibility; a version's schema, pretty-printed; two
 * versions' differences, field by field.
 */

function changeRow(change: SchemaChange): HTMLElement {
  const text = (value: string | null) => value ?? '(no default)';
  const detail = ((): string => {
    switch (change.kind) {
      case 'added':
        return change.default === null ? change.type : `${change.type}, default ${change.default}`;
      case 'removed':
        return change.type;
      case 'type-changed':
      case 'default-changed':
        return `${text(change.from)} → ${text(change.to)}`;
    }
  })();
  return h(
    'tr',
    { 'data-change': change.kind },
    h('td', {}, h('span', { class: `chip change-${change.kind}` }, change.kind.replace('-', ' '))),
    h('td', { class: 'mono' }, change.path),
    h('td', { class: 'mono' }, detail),
  );
}

export function createSchemasPanel(client: Client): Panel {
  const subjects = h('div', {}, h('p', { class: 'muted' }, 'loading…'));
  const view = h('div', { class: 'schema-view' });
  const element = card('schemas', 'Schemas', subjects, view);
  element.classList.add('wide');
  // A version never changes once registered: each is fetched once.
  const versions = new Map<string, Promise<SchemaVersion>>();
  const fetchVersion = (subject: string, version: number): Promise<SchemaVersion> => {
    const key = `${subject}\n${version}`;
    let pending = versions.get(key);
    if (pending === undefined) {
      pending = client.get<SchemaVersion>(`schemas/${encodeURIComponent(subject)}/versions/${version}`);
      pending.catch(() => versions.delete(key));
      versions.set(key, pending);
    }
    return pending;
  };

  const show = async (subject: string, version: number): Promise<void> => {
    fill(view, h('p', { class: 'muted' }, `loading ${subject} v${version}…`));
    try {
      const answer = await fetchVersion(subject, version);
      fill(
        view,
        h('h3', {}, `${answer.subject} v${answer.version} (id ${answer.id})`),
        h('pre', { class: 'schema', 'data-testid': 'schema-json' }, JSON.stringify(answer.schema, null, 2)),
      );
    } catch (error) {
      fill(view, errorLine(describeError(error)));
    }
  };

  const compare = async (subject: string, from: number, to: number): Promise<void> => {
    fill(view, h('p', { class: 'muted' }, `comparing ${subject} v${from} and v${to}…`));
    try {
      const [before, after] = await Promise.all([fetchVersion(subject, from), fetchVersion(subject, to)]);
      if (!isAvroRecord(before.schema) || !isAvroRecord(after.schema)) {
        fill(view, errorLine('only record schemas can be compared field by field'));
        return;
      }
      const changes = diffSchemas(before.schema, after.schema);
      fill(
        view,
        h('h3', {}, `${subject}: v${from} → v${to}`),
        changes.length === 0
          ? h('p', { class: 'muted' }, 'no field changed')
          : h(
              'table',
              { 'data-testid': 'schema-diff' },
              h('thead', {}, h('tr', {}, h('th', {}, 'change'), h('th', {}, 'field'), h('th', {}, ''))),
              h('tbody', {}, ...changes.map(changeRow)),
            ),
      );
    } catch (error) {
      fill(view, errorLine(describeError(error)));
    }
  };

  const versionSelect = (name: string, options: readonly number[], selected: number | undefined) =>
    h(
      'select',
      { name, 'aria-label': name },
      ...options.map((v) => h('option', { value: v, selected: v === selected }, `v${v}`)),
    );

  const subjectRow = (subject: Schemas['subjects'][number]): HTMLElement => {
    const from = versionSelect('from', subject.versions, subject.versions.at(-2) ?? subject.versions[0]);
    const to = versionSelect('to', subject.versions, subject.versions.at(-1));
    return h(
      'tr',
      { 'data-subject': subject.subject },
      h('td', { class: 'mono' }, subject.subject),
      h('td', {}, subject.compatibility),
      h(
        'td',
        {},
        ...subject.versions.map((version) =>
          h(
            'button',
            {
              type: 'button',
              class: 'link',
              'data-version': version,
              on: { click: () => void show(subject.subject, version) },
            },
            `v${version}`,
          ),
        ),
      ),
      h(
        'td',
        { class: 'actions' },
        from,
        ' → ',
        to,
        h(
          'button',
          {
            type: 'button',
            'data-testid': 'schema-compare',
            disabled: subject.versions.length < 2,
            on: { click: () => void compare(subject.subject, Number(from.value), Number(to.value)) },
          },
          'Compare',
        ),
      ),
    );
  };

  let loaded = false;
  const load = async (): Promise<void> => {
    try {
      const answer = await client.get<Schemas>('schemas');
      loaded = true;
      fill(
        subjects,
        answer.subjects.length === 0
          ? h('p', { class: 'muted' }, 'no subject registered')
          : h(
              'table',
              {},
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ...['subject', 'compatibility', 'versions', 'compare'].map((t) => h('th', {}, t)),
                ),
              ),
              h('tbody', {}, ...answer.subjects.map(subjectRow)),
            ),
        h('button', { type: 'button', class: 'secondary', on: { click: () => void load() } }, 'Reload'),
      );
    } catch (error) {
      fill(
        subjects,
        errorLine(describeError(error)),
        h('button', { type: 'button', class: 'secondary', on: { click: () => void load() } }, 'Retry'),
      );
    }
  };

  // Subjects change only with a deploy: read until read once, then on Reload.
  const start = (): void => {
    if (!loaded) void load();
  };
  return { element, start };
}
