/// <reference lib="dom" />
import type { DeadLetters, QueueDepth, ReplayResult, Snapshot } from '../api.ts';
import { Poller, describeError } from './client.ts';
import type { Client } from './client.ts';
import { card, errorLine, figure, fill, h } from './dom.ts';
import { formatCount, formatTime } from './format.ts';
import type { Panel } from './panel.ts';

/**
 * The dead-letter queue: its depth (from the snapshot), and every ~10 s the latest letters by reason,
 * each reason with a Replay button, and the failed-batches queue.
 */

const LIMIT = 50;

function depth(label: string, part: Snapshot['deadLetters']): HTMLElement {
  if (!part.ok)
    return h('div', { class: 'figure' }, h('span', { class: 'label' }, label), errorLine(part.error));
  const queue: QueueDepth = part.data;
  return figure(label, formatCount(queue.visible), `${formatCount(queue.inFlight)} in flight`);
}

function table(headers: readonly string[], rows: readonly HTMLElement[], compact = false): HTMLElement {
  return h(
    'table',
    { class: compact ? 'compact' : undefined },
    h('thead', {}, h('tr', {}, ...headers.map((title) => h('th', {}, title)))),
    h('tbody', {}, ...rows),
  );
}

export function createDeadLettersPanel(client: Client): Panel {
  const depths = h('div', { class: 'figures' });
  const loadError = h('div');
  const byReason = h('div', {}, h('p', { class: 'muted' }, 'loading…'));
  const latest = h('div');
  const failedBatches = h('div');
  const element = card(
    'dead-letters',
    'Dead letters',
    depths,
    loadError,
    h('h3', {}, 'By reason'),
    byReason,
    h('h3', {}, 'Latest letters'),
    latest,
    h('h3', {}, 'Failed batches'),
    failedBatches,
  );
  element.classList.add('wide');
  /** The last replay's outcome, by reason. */
  const outcomes = new Map<string, HTMLElement>();
  let letters: DeadLetters | null = null;

  const replay = async (reason: string): Promise<void> => {
    outcomes.set(reason, h('span', { class: 'muted' }, 'replaying…'));
    render();
    try {
      const result = await client.post<ReplayResult>('dead-letters/replay', { reason });
      outcomes.set(
        reason,
        h(
          'span',
          { class: 'ok' },
          `replayed ${formatCount(result.replayed)}, kept ${formatCount(result.kept)}`,
        ),
      );
      await load();
    } catch (error) {
      outcomes.set(reason, h('span', { class: 'error' }, describeError(error)));
    }
    render();
  };

  const reasonRow = (reason: string, count: number): HTMLElement => {
    const ask = (): void => {
      // The browser's own dialog: a replay puts records back on the topic, the sink reads them again.
      if (
        window.confirm(
          `Replay the ${formatCount(count)} dead letters of reason "${reason}" onto their topic?`,
        )
      ) {
        void replay(reason);
      }
    };
    return h(
      'tr',
      { 'data-reason': reason },
      h('td', { class: 'mono' }, reason),
      h('td', { class: 'num' }, formatCount(count)),
      h(
        'td',
        { class: 'actions' },
        h('button', { type: 'button', 'data-testid': 'replay', on: { click: ask } }, 'Replay'),
        outcomes.get(reason) ?? null,
      ),
    );
  };

  const render = (): void => {
    if (letters === null) return;
    fill(
      byReason,
      letters.byReason.length === 0
        ? h('p', { class: 'muted' }, 'the queue is empty')
        : table(
            ['reason', 'letters', ''],
            letters.byReason.map(({ reason, count }) => reasonRow(reason, count)),
            true,
          ),
      letters.truncated ? h('p', { class: 'muted' }, `counts of the latest ${LIMIT} letters only`) : null,
    );
    fill(
      latest,
      letters.latest.length === 0
        ? null
        : table(
            ['topic', 'partition', 'offset', 'reason', 'key', 'failed at'],
            letters.latest.map((letter) =>
              h(
                'tr',
                {},
                h('td', {}, letter.topic),
                h('td', { class: 'num' }, letter.partition),
                h('td', { class: 'num' }, letter.offset),
                h('td', { class: 'mono' }, letter.reason),
                h('td', { class: 'mono' }, letter.key ?? '(none)'),
                h('td', {}, formatTime(letter.failedAt)),
              ),
            ),
          ),
    );
    fill(
      failedBatches,
      letters.failedBatches.length === 0
        ? h('p', { class: 'muted' }, 'none')
        : table(
            ['reason', 'at', 'detail'],
            letters.failedBatches.map((batch) =>
              h(
                'tr',
                {},
                h('td', { class: 'mono' }, batch.reason),
                h('td', {}, formatTime(batch.at)),
                h('td', { class: 'detail' }, batch.detail),
              ),
            ),
          ),
    );
  };

  const load = async (): Promise<void> => {
    try {
      letters = await client.get<DeadLetters>(`dead-letters?limit=${LIMIT}`);
      fill(loadError);
      render();
    } catch (error) {
      // The last letters read stay, under the error.
      fill(loadError, errorLine(`the letters could not be read: ${describeError(error)}`));
    }
  };

  const onSnapshot = (snapshot: Snapshot): void => {
    fill(
      depths,
      depth('dead letters', snapshot.deadLetters),
      depth('failed batches', snapshot.failedBatches),
    );
  };

  const poller = new Poller(10_000, load);
  return {
    element,
    onSnapshot,
    start: () => {
      poller.start();
    },
    stop: () => {
      poller.stop();
    },
  };
}
