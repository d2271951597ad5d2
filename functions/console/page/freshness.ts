/// <reference lib="dom" />
import type { Snapshot } from '../api.ts';
import { Chart } from './chart.ts';
import { card, errorLine, figure, fill, h } from './dom.ts';
import { formatCount, formatDuration } from './format.ts';
import { seriesOf } from './history.ts';
import type { Pick, Sample } from './history.ts';
import type { Panel } from './panel.ts';

/** PostgreSQL commit → Cassandra write: percentiles, the histogram, and p50/p99 over time. */

/** A bucket's upper bound as an axis label: `≤250ms`, `≤2s`, and `>2s` for the last (+∞) one. */
export function bucketLabels(bucketsMs: readonly number[]): string[] {
  const short = (ms: number) => (ms < 1000 ? `${ms}ms` : `${ms / 1000}s`);
  return bucketsMs.map((bound, i) => {
    if (Number.isFinite(bound) && i < bucketsMs.length - 1) return `≤${short(bound)}`;
    const previous = bucketsMs[i - 1];
    return previous === undefined ? 'all' : `>${short(previous)}`;
  });
}

const p50: Pick = (s) => (s.snapshot.freshness.ok ? s.snapshot.freshness.data.p50Ms : null);
const p99: Pick = (s) => (s.snapshot.freshness.ok ? s.snapshot.freshness.data.p99Ms : null);

export function createFreshnessPanel(): Panel {
  const error = h('div');
  const figures = h('div', { class: 'figures' });
  const histogramBox = h('div', { class: 'chart' });
  const overTimeBox = h('div', { class: 'chart' });
  const element = card(
    'freshness',
    'Freshness',
    error,
    figures,
    h('div', { class: 'chart-title' }, 'latency histogram (users)'),
    histogramBox,
    h('div', { class: 'chart-title' }, 'p50 and p99 over time (ms)'),
    overTimeBox,
  );
  const histogram = new Chart(histogramBox, { height: 120, bars: true });
  const overTime = new Chart(overTimeBox, { height: 110, yFormat: (ms) => formatDuration(ms) });

  const onSnapshot = (snapshot: Snapshot, history: readonly Sample[]): void => {
    const part = snapshot.freshness;
    fill(error, part.ok ? null : errorLine(part.error));
    element.classList.toggle('stale', !part.ok);
    if (part.ok) {
      const data = part.data;
      fill(
        figures,
        figure('p50', formatDuration(data.p50Ms)),
        figure('p99', formatDuration(data.p99Ms)),
        figure('max', formatDuration(data.maxMs)),
        figure('samples', formatCount(data.samples), 'recent users'),
      );
      histogram.setData(
        [data.counts.map((_, i) => i), [...data.counts]],
        ['users'],
        bucketLabels(data.bucketsMs),
      );
    }
    overTime.setData(seriesOf(history, [p50, p99]), ['p50', 'p99']);
  };
  return { element, onSnapshot };
}
