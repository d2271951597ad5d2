/**
 * How far users have come through the pipeline, from counters that cost almost nothing to read
 * while a run goes on: the outbox's newest id (PostgreSQL), the topic's end offsets (Kafka), and the
 * committed offsets of the sink's and Spark's consumer groups (Cassandra, the aggregates). The sink
 * and Spark commit only after their writes, so a committed record is one that landed.
 */
import type { Admin } from 'kafkajs';
import type pg from 'pg';
import { topicProgress } from '#lib/snapshot/topic.ts';

/** Cumulative counts, as read at one moment (absolute: subtract a baseline to get a run's own). */
export interface FlowCounts {
  /** Outbox rows ever written: persist writes one per user version. */
  readonly persisted: number;
  /** Records in the topic. */
  readonly published: number;
  /** Records the sink committed: written to Cassandra (or dead-lettered). */
  readonly sunk: number;
  /** Records every one of Spark's queries committed: in the aggregates. */
  readonly aggregated: number;
}

export const FLOW_STAGES = ['persisted', 'published', 'sunk', 'aggregated'] as const;

/** Reads the counters: one indexed max() and one round of Kafka admin calls. */
export async function readFlow(
  pool: Pick<pg.Pool, 'query'>,
  admin: Pick<Admin, 'fetchTopicOffsets' | 'fetchOffsets'>,
  topic: string,
  groups: { sink: string; spark: readonly string[] },
): Promise<FlowCounts> {
  const [outbox, side] = await Promise.all([
    pool.query<{ id: string }>('SELECT coalesce(max(id), 0) AS id FROM outbox'),
    topicProgress(
      admin,
      topic,
      [groups.sink, ...groups.spark].map((groupId) => ({ groupId, label: groupId })),
    ),
  ]);
  const committed = (groupId: string): number =>
    side.groups
      .find((g) => g.groupId === groupId)
      ?.partitions.reduce((sum, p) => sum + (p.committed ?? 0), 0) ?? 0;
  return {
    persisted: Number(outbox.rows[0]?.id ?? 0),
    published: side.partitions.reduce((sum, p) => sum + p.high, 0),
    sunk: committed(groups.sink),
    aggregated: Math.min(...groups.spark.map(committed)),
  };
}

/** `now` minus `baseline`, stage by stage. */
export const flowSince = (now: FlowCounts, baseline: FlowCounts): FlowCounts => ({
  persisted: now.persisted - baseline.persisted,
  published: now.published - baseline.published,
  sunk: now.sunk - baseline.sunk,
  aggregated: now.aggregated - baseline.aggregated,
});

/** A run's counts over time: seconds since its start, and its own counts then. */
export interface FlowSample {
  readonly t: number;
  readonly counts: FlowCounts;
}

/** The first moment a stage had reached `users`, in seconds since the start; undefined if never. */
export const reachedAt = (
  samples: readonly FlowSample[],
  stage: keyof FlowCounts,
  users: number,
): number | undefined => samples.find((s) => s.counts[stage] >= users)?.t;
