import pLimit from 'p-limit';
import { logger } from '#lib/logger.ts';
import type { UserEvent } from '#lib/user-event.ts';
import { decodeRecord, type DecodedRecord, type SchemaLookup } from './decode-record.ts';
import { deadLetterOf, type DeadLetter } from './dead-letter.ts';
import { recordId, recordsOf, type KafkaEvent } from './kafka-event.ts';
import { newestPerUser } from './user-table.ts';
import { writeTimeCheck, type CassandraTarget } from './write-time.ts';

/** What the sink needs: the registry, the store, the dead-letter queue, and where it writes. */
export interface SinkBatchDeps {
  readonly schemaFor: SchemaLookup;
  /** Upserts users (called only with at least one); rejects with a TransientError when the store is down. */
  readonly writeUsers: (events: readonly UserEvent[]) => Promise<void>;
  /** The version the store holds for each key it has (asked only about events too old for Keyspaces). */
  readonly versionsOf: (userKeys: readonly string[]) => Promise<ReadonlyMap<string, number>>;
  /** Cassandra unless told otherwise: on Keyspaces, events older than its write-time window are sorted out. */
  readonly target?: CassandraTarget;
  /** Sends poison records to the dead-letter queue; rejects with a TransientError when it cannot. */
  readonly deadLetter: (letters: readonly DeadLetter[]) => Promise<void>;
  readonly now?: () => Date;
}

/** What one batch did, record by record. */
export interface SinkBatchResult {
  readonly records: number;
  /** Users written (one per user: a batch's older events of the same user are folded away). */
  readonly written: number;
  readonly deadLettered: number;
  /** Replays too old for Keyspaces' write times whose version (or a newer one) it already holds. */
  readonly skipped: number;
}

/** Registry lookups in flight at once while decoding (cached ids cost nothing). */
const DECODE_CONCURRENCY = 16;

/**
 * Lands a batch of user events: decodes every record, writes the good ones, then dead-letters the
 * poison ones with their reasons, so one bad record never blocks its partition. Transient failures
 * (Cassandra, the registry or the queue unavailable) reject, so the trigger retries the whole batch;
 * the writes are idempotent upserts, so a retry changes nothing that already landed. Dead letters go
 * last: a batch that fails to write is retried before any of its records are dead-lettered. A batch
 * with nothing to write never touches the store.
 */
export async function sinkBatch(event: KafkaEvent, deps: SinkBatchDeps): Promise<SinkBatchResult> {
  const records = recordsOf(event);
  const limit = pLimit(DECODE_CONCURRENCY);
  const decoded: DecodedRecord[] = await Promise.all(
    records.map((record) => limit(() => decodeRecord(record, deps.schemaFor))),
  );
  const now = deps.now?.() ?? new Date();
  const { fresh, unwritable, skipped } = await sortByWriteTime(decoded, now, deps);
  const events = newestPerUser(fresh);
  const letters = [
    ...decoded.flatMap((d) => (d.kind === 'poison' ? [deadLetterOf(d.record, d.reason, now)] : [])),
    ...unwritable.map(({ record, reason }) => deadLetterOf(record, reason, now)),
  ];
  // Nothing to write, nothing to connect to: a batch of poison records alone must not wait on
  // Cassandra (the handler connects inside writeUsers), and its dead letters go out even while it is down.
  if (events.length > 0) await deps.writeUsers(events);
  if (letters.length > 0) {
    await deps.deadLetter(letters);
    for (const letter of letters) {
      logger.warn('record dead-lettered', {
        record: `${letter.topic}-${letter.partition}@${letter.offset}`,
        reason: letter.reason,
      });
    }
  }
  const first = records[0];
  logger.info('batch sunk', {
    records: records.length,
    written: events.length,
    deadLettered: letters.length,
    skipped,
    ...(first === undefined ? {} : { first: recordId(first) }),
  });
  return { records: records.length, written: events.length, deadLettered: letters.length, skipped };
}

/**
 * Sorts the decoded events by their write time (see write-time.ts): those that can be written; those
 * that never can, with why (an event time ahead of the clock; on Keyspaces, one older than its 2-day
 * window whose version Keyspaces lacks); and how many were old replays of what Keyspaces holds.
 */
async function sortByWriteTime(
  decoded: readonly DecodedRecord[],
  now: Date,
  deps: Pick<SinkBatchDeps, 'versionsOf' | 'target'>,
): Promise<{
  fresh: UserEvent[];
  unwritable: { record: DecodedRecord['record']; reason: string }[];
  skipped: number;
}> {
  const fresh: UserEvent[] = [];
  const unwritable: { record: DecodedRecord['record']; reason: string }[] = [];
  const stale: { record: DecodedRecord['record']; event: UserEvent }[] = [];
  for (const d of decoded) {
    if (d.kind !== 'event') continue;
    const check = writeTimeCheck(d.event, now, deps.target ?? 'cassandra');
    const at = new Date(d.event.updated_at).toISOString();
    if (check === 'ok') fresh.push(d.event);
    else if (check === 'stale') stale.push(d);
    else {
      const reason = `event time ${at} is ahead of the clock: written, it would outrank every later version`;
      unwritable.push({ record: d.record, reason });
    }
  }
  if (stale.length === 0) return { fresh, unwritable, skipped: 0 };
  const held = await deps.versionsOf([...new Set(stale.map((s) => s.event.user_key))]);
  let skipped = 0;
  for (const { record, event } of stale) {
    if ((held.get(event.user_key) ?? 0) >= event.version) skipped += 1;
    else {
      const at = new Date(event.updated_at).toISOString();
      const reason = `event time ${at} is older than Keyspaces accepts as a write time (2 days), and it holds no newer version: change the user in PostgreSQL to publish a new one`;
      unwritable.push({ record, reason });
    }
  }
  return { fresh, unwritable, skipped };
}
