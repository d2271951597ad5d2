import type cassandraDriver from 'cassandra-driver';
import type { Admin } from 'kafkajs';
import type pg from 'pg';
import type { Snapshot } from '#functions/console/api.ts';
import type { MessageQueue } from '#lib/message-queue.ts';
import type { RawStore } from '#lib/raw-store.ts';
import { versionsInCassandra } from '#lib/user-rows.ts';
import { batchAggregates, readAggregates } from './aggregates.ts';
import { batchFingerprints, batchReconciler, usersOfBatch } from './batches.ts';
import { freshnessReader } from './freshness.ts';
import { part } from './part.ts';
import { readPostgresSide } from './postgres.ts';
import { queueDepth } from './queues.ts';
import { batchIdOfKey, rawZoneReader } from './raw-zone.ts';
import { probeServices, type Probes } from './services.ts';
import type { ConsumerGroup } from './topic.ts';
import { topicProgress } from './topic.ts';

/** The pipeline's stores as one stage names them. */
export interface SnapshotResources {
  readonly stage: string;
  readonly rawBucket: string;
  readonly usersTopic: string;
  readonly keyspace: string;
  readonly deadLetterQueueUrl: string;
  readonly failedBatchesQueueUrl: string;
  /** The sink's group first, then Spark's queries'. */
  readonly consumerGroups: readonly ConsumerGroup[];
}

/** The clients a snapshot reads through, each made (and connected) on first use by the caller. */
export interface SnapshotSources {
  readonly resources: SnapshotResources;
  readonly db: () => Promise<Pick<pg.Pool, 'query'>>;
  readonly cassandra: () => Promise<Pick<cassandraDriver.Client, 'execute'>>;
  readonly kafkaAdmin: () => Promise<Pick<Admin, 'fetchTopicOffsets' | 'fetchOffsets'>>;
  readonly rawZone: () => Pick<RawStore, 'list' | 'head'>;
  readonly deadLetters: () => Pick<MessageQueue, 'count'>;
  readonly failedBatches: () => Pick<MessageQueue, 'count'>;
  /** One cheap call per service, for the Services panel. */
  readonly probes: Probes;
}

/** Batches reconciled per snapshot, and whose users the freshness samples. */
const RECONCILED_BATCHES = 5;
const FRESHNESS_BATCHES = 3;
/** Reconciliation reads whole batches: it gets more time than a single read. */
const RECONCILE_TIMEOUT_MS = 5000;

/**
 * The pipeline's read side: one snapshot of every store, each part read on its own and at once, so
 * that a service that is down or slow costs its own part only. Every read is bounded by a batch, the
 * topic's partitions or a fixed number of minutes, never by the size of a table. The reader
 * remembers which users it saw land (see batchReconciler), so keep one per process.
 */
export function snapshotReader(sources: SnapshotSources) {
  const { resources } = sources;
  const usersTable = `${resources.keyspace}.users`;
  const reconcile = batchReconciler({
    usersOfBatch: async (batchId) => usersOfBatch(await sources.db(), batchId),
    fingerprints: async (batchIds) => batchFingerprints(await sources.db(), batchIds),
    versionsInCassandra: async (keys) => versionsInCassandra(await sources.cassandra(), keys, usersTable),
    aggregatedUsers: batchAggregates(sources.db, sources.cassandra, resources.keyspace),
  });
  const readFreshness = freshnessReader(sources.db, sources.cassandra, usersTable);
  const readRawZone = rawZoneReader(sources.rawZone);

  return async function readSnapshot(now = new Date()): Promise<Snapshot> {
    const started = performance.now();
    const [services, raw, postgres, topic, aggregates, deadLetters, failedBatches] = await Promise.all([
      probeServices(sources.probes),
      part(() => readRawZone(now)),
      part(async () => readPostgresSide(await sources.db())),
      part(async () =>
        topicProgress(await sources.kafkaAdmin(), resources.usersTopic, resources.consumerGroups),
      ),
      part(async () => readAggregates(await sources.cassandra(), resources.keyspace, now)),
      part(() => queueDepth(sources.deadLetters(), resources.deadLetterQueueUrl)),
      part(() => queueDepth(sources.failedBatches(), resources.failedBatchesQueueUrl)),
    ]);
    // The newest batches are the raw zone's: each key names its batch.
    const recent = raw.ok
      ? raw.data.latest.flatMap((o) => {
          const batchId = batchIdOfKey(o.key);
          return batchId === undefined ? [] : [{ batchId, at: o.at }];
        })
      : [];
    const [batches, freshness] = await Promise.all([
      raw.ok
        ? part(() => reconcile(recent.slice(0, RECONCILED_BATCHES)), RECONCILE_TIMEOUT_MS)
        : Promise.resolve({
            ok: false as const,
            error: `recent batches come from the raw zone: ${raw.error}`,
          }),
      part(() => readFreshness(recent.slice(0, FRESHNESS_BATCHES).map((b) => b.batchId))),
    ]);
    return {
      takenAt: now.toISOString(),
      durationMs: Math.round(performance.now() - started),
      stage: resources.stage,
      services,
      raw,
      postgres,
      topic,
      batches,
      freshness,
      aggregates,
      deadLetters,
      failedBatches,
    };
  };
}
