import { Readable } from 'node:stream';
import cassandraDriver from 'cassandra-driver';
import { TransientError } from '#lib/errors.ts';
import { userContentFields, type UserEvent } from '#lib/user-event.ts';
import { writeTimeOf } from './write-time.ts';

/** The columns the sink writes: the user's content, and when PostgreSQL last changed it. */
const columns = [...userContentFields, 'updated_at'] as const;

/**
 * The upsert: a prepared INSERT whose write time is the event's time (write-time.ts). Cassandra keeps,
 * cell by cell, the value with the highest write time, so a late or replayed event (an older version,
 * so an earlier time) never overwrites a newer one. (A manual DELETE must use a later timestamp.)
 */
export const UPSERT_USER = `INSERT INTO users (${columns.join(', ')}, sunk_at) VALUES (${columns
  .map(() => '?')
  .join(', ')}, ?) USING TIMESTAMP ?`;

const timestamps = new Set<string>(['updated_at', 'date_of_birth', 'registered_at']);

/** The bound values of one event, in the statement's order. */
export function upsertParams(event: UserEvent, sunkAt: Date): unknown[] {
  return [
    ...columns.map((column) => (timestamps.has(column) ? new Date(event[column] as number) : event[column])),
    sunkAt,
    writeTimeOf(event),
  ];
}

/** The newest event of each user in a batch: one write per user instead of one per record. */
export function newestPerUser(events: Iterable<UserEvent>): UserEvent[] {
  const newest = new Map<string, UserEvent>();
  for (const event of events) {
    const seen = newest.get(event.user_key);
    if (seen === undefined || event.version > seen.version) newest.set(event.user_key, event);
  }
  return [...newest.values()];
}

/**
 * Writes users with `concurrency` prepared writes in flight (the driver's executeConcurrent), never
 * one synchronous write at a time. Any failure is transient: the batch is retried, and the writes
 * that did land are idempotent.
 */
export async function writeUsers(
  client: cassandraDriver.Client,
  events: readonly UserEvent[],
  concurrency: number,
): Promise<void> {
  if (events.length === 0) return;
  // A stream, pulled as writes complete, so that each row's sunk_at is the time its write was issued.
  const params = Readable.from(
    (function* () {
      for (const event of events) yield upsertParams(event, new Date());
    })(),
  );
  try {
    await cassandraDriver.concurrent.executeConcurrent(client, UPSERT_USER, params, {
      concurrencyLevel: concurrency,
    });
  } catch (error) {
    throw new TransientError('Cassandra did not accept the users', { cause: error });
  }
}
