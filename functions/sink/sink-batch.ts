import pLimit from 'p-limit';
import { logger } from '#lib/logger.ts';
import type { UserEvent } from '#lib/user-event.ts';
import { decodeRecord, type DecodedRecord, type SchemaLookup } from './decode-record.ts';
import { deadLetterOf, type DeadLetter } from './dead-letter.ts';
import { recordId, recordsOf, type KafkaEvent } from './kafka-event.ts';
import { newestPerUser } from './user-table.ts';

export interface SinkBatchDeps {
  readonly schemaFor: SchemaLookup;
  /** Upserts users; rejects with a TransientError when the store is down. */
  readonly writeUsers: (events: readonly UserEvent[]) => Promise<void>;
  /** Sends poison records to the dead-letter queue; rejects with a TransientError when it cannot. */
  readonly deadLetter: (letters: readonly DeadLetter[]) => Promise<void>;
  readonly now?: () => Date;
}

export interface SinkBatchResult {
  readonly records: number;
  /** Users written (one per user: a batch's older events of the same user are folded away). */
  readonly written: number;
  readonly deadLettered: number;
}

/** Registry lookups in flight at once while decoding (cached ids cost nothing). */
const DECODE_CONCURRENCY = 16;

/**
 * Lands a batch of user events: decodes every record, writes the good ones, then dead-letters the
 * poison ones with their reasons, so one bad record never blocks its partition. Transient failures
 * (Cassandra, the registry or the queue unavailable) reject, so the trigger retries the whole batch;
 * the writes are idempotent upserts, so a retry changes nothing that already landed. Dead letters go
 * last: a batch that fails to write is retried before any of its records are dead-lettered.
 */
export async function sinkBatch(event: KafkaEvent, deps: SinkBatchDeps): Promise<SinkBatchResult> {
  const records = recordsOf(event);
  const limit = pLimit(DECODE_CONCURRENCY);
  const decoded: DecodedRecord[] = await Promise.all(
    records.map((record) => limit(() => decodeRecord(record, deps.schemaFor))),
  );
  const events = newestPerUser(decoded.flatMap((d) => (d.kind === 'event' ? [d.event] : [])));
  const now = deps.now?.() ?? new Date();
  const letters = decoded.flatMap((d) =>
    d.kind === 'poison' ? [deadLetterOf(d.record, d.reason, now)] : [],
  );
  await deps.writeUsers(events);
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
    ...(first === undefined ? {} : { first: recordId(first) }),
  });
  return { records: records.length, written: events.length, deadLettered: letters.length };
}
