/// <reference lib="dom" />
import type { Part, Trace } from '../api.ts';
import { describeError } from './client.ts';
import type { Client } from './client.ts';
import { card, chip, errorLine, fill, h } from './dom.ts';
import { formatCount, formatTime } from './format.ts';
import type { Panel } from './panel.ts';

/** One user followed through the stages, by key: what each store holds of it now. */

type Child = Node | string | null;

function stage(id: string, title: string, content: Child): HTMLElement {
  return h('div', { class: 'trace-stage', 'data-trace-stage': id }, h('h3', {}, title), content);
}

function facts(entries: readonly (readonly [string, Child])[]): HTMLElement {
  return h(
    'dl',
    { class: 'facts' },
    ...entries.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]),
  );
}

/** A part's view: its data rendered, "not found" when the store has no such user, or its error. */
function part<T>(value: Part<T | null>, render: (data: T) => Child, absent = 'not found'): Child {
  if (!value.ok) return errorLine(value.error);
  return value.data === null ? h('p', { class: 'muted' }, absent) : render(value.data);
}

function render(trace: Trace): HTMLElement[] {
  return [
    stage(
      'postgres',
      'PostgreSQL',
      part(trace.postgres, (user) =>
        facts([
          ['name', user.name],
          ['e-mail', user.email],
          ['phone', user.phone],
          ['nat', user.nat],
          ['version', String(user.version)],
          ['batch', h('span', { class: 'mono' }, user.batchId)],
          ['updated', formatTime(user.updatedAt)],
        ]),
      ),
    ),
    stage(
      'raw',
      'S3 raw object',
      part(trace.raw, (object) =>
        facts([
          ['key', h('span', { class: 'mono' }, object.key)],
          ['exists', object.exists ? chip('success', 'yes') : chip('failed', 'no: deleted or never written')],
        ]),
      ),
    ),
    stage(
      'outbox',
      'Outbox',
      part(trace.outbox, (rows) =>
        rows.length === 0
          ? h('p', { class: 'muted' }, 'no outbox row')
          : h(
              'table',
              {},
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ...['event', 'type', 'version', 'created', 'published'].map((t) => h('th', {}, t)),
                ),
              ),
              h(
                'tbody',
                {},
                ...rows.map((row) =>
                  h(
                    'tr',
                    { 'data-published': String(row.publishedAt !== null) },
                    h('td', { class: 'mono' }, row.eventId),
                    h('td', {}, row.eventType),
                    h('td', { class: 'num' }, row.version),
                    h('td', {}, formatTime(row.createdAt)),
                    h(
                      'td',
                      {},
                      row.publishedAt === null ? chip('queued', 'not yet') : formatTime(row.publishedAt),
                    ),
                  ),
                ),
              ),
            ),
      ),
    ),
    stage(
      'kafka',
      'Kafka',
      part(trace.kafka, (kafka) =>
        facts([
          ['partition', String(kafka.partition)],
          ['end offset', formatCount(kafka.high)],
        ]),
      ),
    ),
    stage(
      'cassandra',
      'Cassandra',
      part(
        trace.cassandra,
        (row) =>
          facts([
            ['version', String(row.version)],
            ['updated', formatTime(row.updatedAt)],
            ['sunk', formatTime(row.sunkAt)],
          ]),
        'not in Cassandra (yet)',
      ),
    ),
    stage(
      'dead-letters',
      'Dead letters',
      part(trace.deadLetters, (letters) =>
        letters.length === 0
          ? h('p', { class: 'muted' }, 'none among the latest')
          : h(
              'ul',
              {},
              ...letters.map((letter) =>
                h(
                  'li',
                  {},
                  `${letter.topic}[${letter.partition}]@${letter.offset}: `,
                  h('span', { class: 'mono' }, letter.reason),
                  ` at ${formatTime(letter.failedAt)}`,
                ),
              ),
            ),
      ),
    ),
  ];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createTracePanel(client: Client): Panel {
  const input = h('input', {
    name: 'key',
    type: 'text',
    size: 38,
    placeholder: 'user key (uuid)',
    required: true,
    spellcheck: 'false',
    autocomplete: 'off',
    'data-testid': 'trace-key',
  });
  const reveal = h('input', { type: 'checkbox', name: 'reveal', 'data-testid': 'trace-reveal' });
  const result = h('div', { class: 'trace', 'data-testid': 'trace-result' });
  const form = h(
    'form',
    { class: 'inline-form' },
    input,
    h('label', {}, reveal, ' reveal e-mail and phone'),
    h('button', { type: 'submit', 'data-testid': 'trace-submit' }, 'Trace'),
  );
  const element = card('trace', 'Trace one user', form, result);
  element.classList.add('wide');

  const trace = async (key: string): Promise<void> => {
    if (!UUID.test(key)) {
      fill(result, errorLine('a user key is a uuid, such as 0b6f3c1e-…'));
      return;
    }
    fill(result, h('p', { class: 'muted' }, 'tracing…'));
    try {
      const answer = await client.get<Trace>(
        `trace/${encodeURIComponent(key)}${reveal.checked ? '?reveal=1' : ''}`,
      );
      fill(result, ...render(answer));
    } catch (error) {
      fill(result, errorLine(describeError(error)));
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void trace(input.value.trim());
  });
  return { element };
}
