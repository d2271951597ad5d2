/// <reference lib="dom" />
import type { Part, Snapshot, TopicSide } from '../api.ts';
import { Chart } from './chart.ts';
import { card, errorLine, figure, fill, h } from './dom.ts';
import { formatCount, formatDuration, formatRate, formatAgo } from './format.ts';
import { rateSeriesOf, recentRate, seriesOf } from './history.ts';
import type { Pick, Sample } from './history.ts';
import type { Panel } from './panel.ts';

/**
 * The pipeline stage by stage, S3 → PostgreSQL → outbox → Kafka → sink → Cassandra → Spark: each
 * stage's figures, its rate over the last 30 s and small charts of the last minutes.
 */

interface Stage {
  readonly element: HTMLElement;
  readonly figures: HTMLElement;
  readonly error: HTMLElement;
  chart(title: string, options?: { sparkline?: boolean; height?: number }): Chart;
}

function stage(id: string, step: number, title: string, parent: HTMLElement): Stage {
  const figures = h('div', { class: 'figures' });
  const error = h('div');
  const charts = h('div', { class: 'charts' });
  const element = h(
    'div',
    { class: 'stage', 'data-stage': id },
    h('h3', {}, h('span', { class: 'step' }, step), title),
    error,
    figures,
    charts,
  );
  parent.append(element);
  return {
    element,
    figures,
    error,
    chart: (chartTitle, { sparkline = true, height = sparkline ? 40 : 110 } = {}) => {
      const box = h('div', { class: 'chart' });
      charts.append(h('div', { class: 'chart-title' }, chartTitle), box);
      return new Chart(box, { height, sparkline, yFormat: compact });
    },
  };
}

/** An axis label: 1.2k rather than 1,200, so the axis stays narrow. */
function compact(value: number): string {
  return Math.abs(value) >= 1000 ? `${Math.round(value / 100) / 10}k` : String(Math.round(value * 10) / 10);
}

/** Shows a part's error on its stage (the stage's figures are then the last readable ones, dimmed). */
function showPart(target: Stage, ...parts: Part<unknown>[]): boolean {
  const failed = parts.find((part): part is { ok: false; error: string } => !part.ok);
  fill(target.error, failed === undefined ? null : errorLine(failed.error));
  target.element.classList.toggle('stale', failed !== undefined);
  return failed === undefined;
}

const raw: Pick = (s) => (s.snapshot.raw.ok ? s.snapshot.raw.data.batches : null);
const landed: Pick = (s) => s.landedUsers;
const pgUsers: Pick = (s) => (s.snapshot.postgres.ok ? s.snapshot.postgres.data.users : null);
const backlog: Pick = (s) => (s.snapshot.postgres.ok ? s.snapshot.postgres.data.outboxBacklog : null);
const published: Pick = (s) => (s.snapshot.postgres.ok ? s.snapshot.postgres.data.published : null);
const oldestAge: Pick = (s) =>
  s.snapshot.postgres.ok ? (s.snapshot.postgres.data.oldestUnpublishedAgeMs ?? 0) / 1000 : null;
const topicOf = (s: Sample): TopicSide | null => (s.snapshot.topic.ok ? s.snapshot.topic.data : null);
const records: Pick = (s) => topicOf(s)?.records ?? null;
const endOffset =
  (partition: number): Pick =>
  (s) =>
    topicOf(s)?.partitions.find((p) => p.partition === partition)?.high ?? null;
const highs: Pick = (s) => topicOf(s)?.partitions.reduce((sum, p) => sum + p.high, 0) ?? null;
const groupLag =
  (groupId: string, partition?: number): Pick =>
  (s) => {
    const group = topicOf(s)?.groups.find((g) => g.groupId === groupId);
    if (group === undefined) return null;
    if (partition === undefined) return group.lag;
    return group.partitions.find((p) => p.partition === partition)?.lag ?? null;
  };
/** Offsets the group has committed, summed: the records it has consumed, as a counter. */
const consumed =
  (groupId: string): Pick =>
  (s) =>
    topicOf(s)
      ?.groups.find((g) => g.groupId === groupId)
      ?.partitions.reduce((sum, p) => sum + (p.committed ?? 0), 0) ?? null;
const aggregateUsers: Pick = (s) => (s.snapshot.aggregates.ok ? s.snapshot.aggregates.data.users : null);

export function createFlowPanel(): Panel {
  const stages = h('div', { class: 'stages' });
  const element = card('flow', 'Flow', stages);
  element.classList.add('wide');

  const s3 = stage('s3', 1, 'S3 raw zone', stages);
  const s3Chart = s3.chart('users landed since the page opened');
  const pg = stage('postgres', 2, 'PostgreSQL', stages);
  const pgChart = pg.chart('users');
  const outbox = stage('outbox', 3, 'Outbox', stages);
  const backlogChart = outbox.chart('backlog (rows)');
  const ageChart = outbox.chart('oldest unpublished (s)');
  const kafka = stage('kafka', 4, 'Kafka topic', stages);
  const recordsChart = kafka.chart('records');
  const produceChart = kafka.chart('produce rate per partition (records/s)', { sparkline: false });
  const sink = stage('sink', 5, 'Sink (Kafka → Cassandra)', stages);
  const sinkLagChart = sink.chart('lag per partition', { sparkline: false });
  const cassandra = stage('cassandra', 6, 'Cassandra', stages);
  const writesChart = cassandra.chart('records consumed by the sink (/s)');
  const spark = stage('spark', 7, 'Spark aggregates', stages);
  const sparkLagChart = spark.chart('Spark groups’ lag', { sparkline: false });
  const aggregatesChart = spark.chart('users in the recent minutes');

  const onSnapshot = (snapshot: Snapshot, history: readonly Sample[]): void => {
    const rate = (pick: Pick) => formatRate(recentRate(history, pick));

    if (showPart(s3, snapshot.raw) && snapshot.raw.ok) {
      const zone = snapshot.raw.data;
      const newest = zone.latest[0];
      fill(
        s3.figures,
        figure(
          'batch objects',
          `${formatCount(zone.batches)}${zone.batchesTruncated ? '+' : ''}`,
          `${rate(raw)} batches`,
        ),
        figure(
          'users landed',
          formatCount(history.at(-1)?.landedUsers ?? null),
          `${rate(landed)} since the page opened`,
        ),
        newest === undefined
          ? null
          : figure(
              'newest batch',
              formatCount(newest.users),
              `users, ${formatAgo(Date.parse(snapshot.takenAt) - Date.parse(newest.at))}`,
            ),
      );
    }
    s3Chart.setData(seriesOf(history, [landed]), ['users landed']);

    if (showPart(pg, snapshot.postgres) && snapshot.postgres.ok) {
      fill(pg.figures, figure('users', formatCount(snapshot.postgres.data.users), rate(pgUsers)));
    }
    pgChart.setData(seriesOf(history, [pgUsers]), ['users']);

    if (showPart(outbox, snapshot.postgres) && snapshot.postgres.ok) {
      const side = snapshot.postgres.data;
      fill(
        outbox.figures,
        figure('backlog', formatCount(side.outboxBacklog), 'rows not published'),
        figure('oldest unpublished', formatDuration(side.oldestUnpublishedAgeMs)),
        figure('published', formatCount(side.published), rate(published)),
      );
    }
    backlogChart.setData(seriesOf(history, [backlog]), ['backlog']);
    ageChart.setData(seriesOf(history, [oldestAge]), ['oldest unpublished']);

    const topic = snapshot.topic.ok ? snapshot.topic.data : null;
    const partitions = topic?.partitions.map((p) => p.partition) ?? [];
    const sinkGroup = topic?.groups[0];
    const sparkGroups = topic?.groups.slice(1) ?? [];

    if (showPart(kafka, snapshot.topic) && topic !== null) {
      fill(
        kafka.figures,
        figure('records', formatCount(topic.records), `in ${topic.topic}, ${partitions.length} partitions`),
        figure('produced', rate(highs), 'all partitions'),
      );
      recordsChart.setData(seriesOf(history, [records]), ['records']);
      produceChart.setData(
        rateSeriesOf(history, partitions.map(endOffset)),
        partitions.map((p) => `p${p}`),
      );
    }

    if (showPart(sink, snapshot.topic) && sinkGroup !== undefined) {
      fill(sink.figures, figure('lag', formatCount(sinkGroup.lag), `records, ${sinkGroup.label}`));
      sinkLagChart.setData(
        seriesOf(
          history,
          partitions.map((p) => groupLag(sinkGroup.groupId, p)),
        ),
        partitions.map((p) => `p${p}`),
      );
    }

    if (showPart(cassandra, snapshot.topic, snapshot.freshness) && sinkGroup !== undefined) {
      const freshness = snapshot.freshness.ok ? snapshot.freshness.data : null;
      fill(
        cassandra.figures,
        figure('written', rate(consumed(sinkGroup.groupId)), 'records the sink consumed'),
        figure('freshness p50', formatDuration(freshness?.p50Ms ?? null), 'PostgreSQL commit → Cassandra'),
      );
      writesChart.setData(rateSeriesOf(history, [consumed(sinkGroup.groupId)]), ['records/s']);
    }

    if (showPart(spark, snapshot.topic, snapshot.aggregates) && snapshot.aggregates.ok) {
      const aggregates = snapshot.aggregates.data;
      fill(
        spark.figures,
        figure('users', formatCount(aggregates.users), `in ${formatCount(aggregates.rows)} minute rows`),
        figure(
          'computed',
          aggregates.lastComputedAt === null
            ? '—'
            : formatAgo(Date.parse(snapshot.takenAt) - Date.parse(aggregates.lastComputedAt)),
        ),
        ...sparkGroups.map((group) => figure('lag', formatCount(group.lag), group.label)),
      );
      sparkLagChart.setData(
        seriesOf(
          history,
          sparkGroups.map((group) => groupLag(group.groupId)),
        ),
        sparkGroups.map((group) => group.label),
      );
    }
    aggregatesChart.setData(seriesOf(history, [aggregateUsers]), ['users']);
  };

  return { element, onSnapshot };
}
