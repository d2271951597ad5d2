/**
 * The pipeline console's JSON API: what each endpoint under `/console/api/` answers. The console
 * function builds these, the page (functions/console/page/) renders them; both import only these
 * types from here, so the two cannot drift apart. Every endpoint takes the API key in `x-api-key`.
 *
 *   GET  /console/api/snapshot                  Snapshot (the page polls it every ~2 s)
 *   GET  /console/api/dead-letters?limit=N      DeadLetters (the latest letters, left in the queue)
 *   POST /console/api/dead-letters/replay       {reason} → ReplayResult
 *   GET  /console/api/schemas                   Schemas
 *   GET  /console/api/schemas/{subject}/versions/{version}  SchemaVersion
 *   GET  /console/api/airflow/runs              AirflowRuns
 *   POST /console/api/airflow/runs              {count, seed, nat} → TriggeredRun
 *   GET  /console/api/trace/{userKey}?reveal=1  Trace (e-mail and phone masked unless reveal=1)
 *
 * An error answers `{ error, message }` (its kind, and what to do) with its 4xx/5xx status, as the
 * other functions do.
 */

/** A part of an answer that comes from one service: its data, or why it could not be read. */
export type Part<T> = (
  { readonly ok: true; readonly data: T } | { readonly ok: false; readonly error: string }
) & {
  /** How long the part took to read, server-side (the snapshot's parts are read at once). */
  readonly ms?: number;
};

/** One dependency of the pipeline, probed with one cheap call. */
export interface ServiceProbe {
  readonly name: 'postgres' | 'kafka' | 'registry' | 'cassandra' | 's3' | 'sqs' | 'airflow';
  readonly up: boolean;
  /** The probe's round trip; null when it failed before any answer. */
  readonly latencyMs: number | null;
  /** Why it is down (a timeout, a refused connection, an HTTP status). */
  readonly error?: string;
}

/** The raw zone: batches fetch landed in S3. */
export interface RawZone {
  /**
   * Batch objects landed today and yesterday, UTC (listed, at most 10,000 a day: `batchesTruncated`
   * says when there are more).
   */
  readonly batches: number;
  readonly batchesTruncated: boolean;
  /**
   * The newest batches, newest first, at most 10. `users` comes from the object's metadata (fetch
   * writes it), never from reading the object; null for an object written without it.
   */
  readonly latest: readonly {
    readonly key: string;
    readonly users: number | null;
    readonly bytes: number;
    readonly at: string;
  }[];
}

/** PostgreSQL's side: users and the transactional outbox. */
export interface PostgresSide {
  /**
   * Users in PostgreSQL: the table's live-row statistic, which PostgreSQL keeps as rows are written
   * (seconds behind a commit; an ANALYZE resets it from a sample): an estimate, the exact counts
   * being per batch.
   */
  readonly users: number;
  /** Outbox rows not published yet. */
  readonly outboxBacklog: number;
  /** Age of the oldest unpublished outbox row; null when none waits. */
  readonly oldestUnpublishedAgeMs: number | null;
  /** Outbox rows published so far (the outbox's highest id less the backlog). */
  readonly published: number;
}

/** A consumer group's progress on the users topic, per partition. */
export interface GroupProgress {
  readonly groupId: string;
  /** Who consumes: the sink (the Kafka trigger), or one of the Spark job's queries. */
  readonly label: string;
  readonly partitions: readonly {
    readonly partition: number;
    /** The next offset the group will read; null when it has committed nothing there. */
    readonly committed: number | null;
    readonly lag: number;
  }[];
  readonly lag: number;
}

/** The users topic: offsets per partition and the groups that consume it. */
export interface TopicSide {
  readonly topic: string;
  readonly partitions: readonly { readonly partition: number; readonly low: number; readonly high: number }[];
  /** Records in the topic's retained range (sum of high − low). */
  readonly records: number;
  /** The sink's group first, then Spark's. */
  readonly groups: readonly GroupProgress[];
}

/** One batch followed through the stores: where its users are now. */
export interface BatchReconciliation {
  readonly batchId: string;
  /** When its users were last written to PostgreSQL. */
  readonly at: string;
  /** Users whose latest write came from this batch. */
  readonly postgres: number;
  readonly published: number;
  readonly cassandra: number;
  /**
   * Users of the batch that Spark's users_per_minute counts; null until the batch is in Cassandra and
   * its minutes have closed (30 s after their end), or when the aggregates are unreadable.
   */
  readonly aggregates: number | null;
  readonly complete: boolean;
  /** Where the missing users stopped, when not complete (status's logic). */
  readonly stoppedAt: 'persist' | 'outbox' | 'kafka-or-sink' | 'aggregates' | null;
}

/** PostgreSQL commit → Cassandra write, over the recent users sampled. */
export interface Freshness {
  readonly samples: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  /** Counts per bucket: `bucketsMs[i]` is the upper bound of `counts[i]` (the last is +∞). */
  readonly bucketsMs: readonly number[];
  readonly counts: readonly number[];
}

/** Spark's aggregates for the recent minutes. */
export interface Aggregates {
  /** users_per_minute rows over the recent minutes. */
  readonly rows: number;
  /** Users those rows count. */
  readonly users: number;
  /** The newest `computed_at` among them; null when none. */
  readonly lastComputedAt: string | null;
}

/** A queue's depth: visible messages and those a reader holds. */
export interface QueueDepth {
  readonly url: string;
  readonly visible: number;
  readonly inFlight: number;
}

/** GET /console/api/snapshot: the whole pipeline, read once, each part on its own. */
export interface Snapshot {
  readonly takenAt: string;
  /** How long the snapshot took to read, server-side. */
  readonly durationMs: number;
  readonly stage: string;
  readonly services: readonly ServiceProbe[];
  readonly raw: Part<RawZone>;
  readonly postgres: Part<PostgresSide>;
  readonly topic: Part<TopicSide>;
  /** The most recent batches, newest first (at most 5). */
  readonly batches: Part<readonly BatchReconciliation[]>;
  readonly freshness: Part<Freshness>;
  readonly aggregates: Part<Aggregates>;
  readonly deadLetters: Part<QueueDepth>;
  readonly failedBatches: Part<QueueDepth>;
}

/** One dead letter as the console lists it (no value bytes: they may hold personal data). */
export interface DeadLetterSummary {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly reason: string;
  /** The record's key as text when it is printable, else its base64; null when the record had none. */
  readonly key: string | null;
  readonly failedAt: string;
}

/** GET /console/api/dead-letters: the queue by reason, and its latest letters. */
export interface DeadLetters {
  readonly byReason: readonly { readonly reason: string; readonly count: number }[];
  /** Up to `limit` letters, newest first: a sample when the queue holds more (SQS keeps no order). */
  readonly latest: readonly DeadLetterSummary[];
  /** The queue holds more than were read (`limit`): the counts cover only those read. */
  readonly truncated: boolean;
  /** Records the failed-batches queue holds: whole batches the trigger gave up on. */
  readonly failedBatches: readonly {
    readonly reason: string;
    readonly at: string;
    readonly detail: string;
  }[];
}

/** POST /console/api/dead-letters/replay {reason}: records put back on their topic. */
export interface ReplayResult {
  readonly replayed: number;
  readonly kept: number;
}

/** GET /console/api/schemas */
export interface Schemas {
  readonly subjects: readonly {
    readonly subject: string;
    readonly versions: readonly number[];
    /** The subject's compatibility level, or the registry's global one. */
    readonly compatibility: string;
  }[];
}

/** GET /console/api/schemas/{subject}/versions/{version} */
export interface SchemaVersion {
  readonly subject: string;
  readonly version: number;
  readonly id: number;
  /** The Avro schema, parsed. */
  readonly schema: unknown;
}

/** A task of a DAG run. */
export interface AirflowTask {
  readonly taskId: string;
  readonly state: string | null;
  readonly tryNumber: number;
  readonly durationSeconds: number | null;
}

/** GET /console/api/airflow/runs: the recent `users_pipeline` runs, newest first. */
export interface AirflowRuns {
  readonly dagId: string;
  /** The Airflow UI, for a link. */
  readonly uiUrl: string;
  readonly paused: boolean;
  readonly runs: readonly {
    readonly runId: string;
    readonly state: string;
    readonly startDate: string | null;
    readonly endDate: string | null;
    readonly conf: Readonly<Record<string, unknown>>;
    readonly tasks: readonly AirflowTask[];
  }[];
}

/** POST /console/api/airflow/runs {count, seed, nat} */
export interface TriggeredRun {
  readonly runId: string;
}

/** GET /console/api/trace/{userKey}: where one user is now, stage by stage. */
export interface Trace {
  readonly userKey: string;
  readonly postgres: Part<{
    readonly version: number;
    readonly batchId: string;
    readonly updatedAt: string;
    readonly name: string;
    /** Masked (`j•••@example.com`) unless reveal=1. */
    readonly email: string;
    readonly phone: string;
    readonly nat: string;
  } | null>;
  /** The S3 object of the user's batch. */
  readonly raw: Part<{ readonly key: string; readonly exists: boolean } | null>;
  readonly outbox: Part<
    readonly {
      readonly eventId: string;
      readonly eventType: string;
      readonly version: number;
      readonly createdAt: string;
      readonly publishedAt: string | null;
    }[]
  >;
  /** The partition the user's key maps to, and the offset range it may be in. */
  readonly kafka: Part<{ readonly partition: number; readonly high: number } | null>;
  readonly cassandra: Part<{
    readonly version: number;
    readonly updatedAt: string | null;
    readonly sunkAt: string | null;
  } | null>;
  /** Dead letters of this key among the latest read. */
  readonly deadLetters: Part<readonly DeadLetterSummary[]>;
}
