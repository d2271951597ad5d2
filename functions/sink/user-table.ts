import { setTimeout as sleep } from 'node:timers/promises';
import cassandraDriver from 'cassandra-driver';
import { TransientError } from '#lib/errors.ts';
import { logger } from '#lib/logger.ts';
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

const { ResponseError, NoHostAvailableError } = cassandraDriver.errors;
const codes = cassandraDriver.types.responseErrorCodes;

/**
 * The answers of a cluster that took a write and could not apply it in time or at all, but may
 * later. Amazon Keyspaces has no error of its own for capacity: it answers a write beyond the
 * table's, a partition's or a connection's throughput with Cassandra's codes, as a timeout
 * (WriteTimeout) by its troubleshooting guides. WriteFailure, Overloaded, Unavailable and
 * ServerError mean the same from Keyspaces or any Cassandra: this write, now, could not be applied.
 */
const refusedForNow = new Set<number>([
  codes.writeTimeout,
  codes.writeFailure,
  codes.overloaded,
  codes.unavailableException,
  codes.serverError,
]);

/**
 * Whether a write was refused for capacity (or a passing server fault): the same write may land
 * once the table scales, so it is retried after a pause. Anything else (an invalid statement, a
 * missing permission, a lost connection) is not, here: the batch fails and the trigger retries it.
 */
export function isCapacityRefusal(error: unknown): boolean {
  if (error instanceof ResponseError) return refusedForNow.has(error.code);
  if (error instanceof NoHostAvailableError) {
    const inner = Object.values((error.innerErrors ?? {}) as Record<string, unknown>);
    return inner.length > 0 && inner.every(isCapacityRefusal);
  }
  return false;
}

/** How a write refused for capacity is retried within one invocation: exponential backoff, full jitter. */
export interface CapacityRetry {
  /** Retries per write, after the first attempt. */
  readonly retries: number;
  /** The first pause's ceiling; each retry doubles it, up to `maxMs`. */
  readonly baseMs: number;
  readonly maxMs: number;
  /** For the tests: the jitter's source and the pause itself. */
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Six retries: pauses of up to 0.1, 0.2 … 3.2 s, 6.3 s at most per write (half of it on average).
 * The writes in flight wait too, so the sink slows down while Keyspaces scales up, instead of
 * failing the whole batch at the first refusal: with an on-failure destination the event-source
 * mapping retries a failed batch only ten times, then discards it to the failed-batches queue.
 */
export const defaultCapacityRetry: CapacityRetry = { retries: 6, baseMs: 100, maxMs: 5000 };

/**
 * Writes users with `concurrency` prepared writes in flight, never one synchronous write at a time.
 * A write refused for capacity (Keyspaces throttling) waits and is sent again, alone: the others
 * keep their results. Once its retries are spent, or on any other failure, no further write is
 * started and the batch rejects with a TransientError: the trigger retries it, nothing is ever
 * dead-lettered for it, and the writes that did land are idempotent (USING TIMESTAMP the event's time).
 */
export async function writeUsers(
  client: Pick<cassandraDriver.Client, 'execute'>,
  events: readonly UserEvent[],
  concurrency: number,
  retry: CapacityRetry = defaultCapacityRetry,
): Promise<void> {
  const random = retry.random ?? Math.random;
  const pause = retry.sleep ?? sleep;
  let next = 0;
  let failed = false;
  let retried = 0;

  const write = async (event: UserEvent): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        // Each attempt's sunk_at is the time that attempt was issued.
        await client.execute(UPSERT_USER, upsertParams(event, new Date()), { prepare: true });
        return;
      } catch (error) {
        if (!isCapacityRefusal(error))
          throw new TransientError('Cassandra did not accept the users', { cause: error });
        if (attempt >= retry.retries || failed) {
          throw new TransientError('Cassandra refused the users for capacity, retries spent', {
            cause: error,
          });
        }
        retried++;
        await pause(random() * Math.min(retry.maxMs, retry.baseMs * 2 ** attempt));
      }
    }
  };
  const worker = async (): Promise<void> => {
    while (!failed && next < events.length) {
      const event = events[next++];
      if (event === undefined) return;
      try {
        await write(event);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, events.length) }, worker));
  } finally {
    if (retried > 0) {
      logger.warn('Keyspaces refused writes for capacity; they were retried', {
        retried,
        users: events.length,
      });
    }
  }
}
