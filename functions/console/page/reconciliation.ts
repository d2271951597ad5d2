/// <reference lib="dom" />
import type { BatchReconciliation, Snapshot } from '../api.ts';
import { card, fill, h, partView } from './dom.ts';
import { formatCount, formatTime } from './format.ts';
import type { Panel } from './panel.ts';

/** Recent batches followed through the stores: postgres = published = cassandra = aggregates. */

const STOPPED_AT: Record<NonNullable<BatchReconciliation['stoppedAt']>, string> = {
  persist: 'fetched, not in PostgreSQL yet (persist)',
  outbox: 'stopped at the outbox (not published)',
  'kafka-or-sink': 'stopped between Kafka and the sink (not in Cassandra)',
  aggregates: 'not counted by Spark’s aggregates yet',
};

function row(batch: BatchReconciliation): HTMLElement {
  const short = (count: number | null) =>
    h('td', { class: count === null || count < batch.postgres ? 'num short' : 'num' }, formatCount(count));
  return h(
    'tr',
    { 'data-batch-id': batch.batchId, 'data-complete': String(batch.complete) },
    h('td', { class: 'mono', title: batch.batchId }, batch.batchId),
    h('td', {}, formatTime(batch.at)),
    h('td', { class: 'num' }, formatCount(batch.postgres)),
    short(batch.published),
    short(batch.cassandra),
    short(batch.aggregates),
    h(
      'td',
      {},
      batch.complete
        ? h('span', { class: 'ok', title: 'every user reached every store' }, '✓ complete')
        : h('span', { class: 'warn' }, batch.stoppedAt === null ? 'incomplete' : STOPPED_AT[batch.stoppedAt]),
    ),
  );
}

export function createReconciliationPanel(): Panel {
  const body = h('div', {}, h('p', { class: 'muted' }, 'waiting for the first snapshot…'));
  const element = card('reconciliation', 'Reconciliation of recent batches', body);
  element.classList.add('wide');
  const onSnapshot = (snapshot: Snapshot): void => {
    fill(
      body,
      partView(snapshot.batches, (batches) =>
        batches.length === 0
          ? h('p', { class: 'muted' }, 'no batch in PostgreSQL yet')
          : h(
              'table',
              {},
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ...['batch', 'written', 'PostgreSQL', 'published', 'Cassandra', 'aggregates', ''].map(
                    (title) => h('th', {}, title),
                  ),
                ),
              ),
              h('tbody', {}, ...batches.map(row)),
            ),
      ),
    );
  };
  return { element, onSnapshot };
}
