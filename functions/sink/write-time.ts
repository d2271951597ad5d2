import cassandraDriver from 'cassandra-driver';
import type { UserEvent } from '#lib/user-event.ts';

/** Where the sink writes: a Cassandra cluster, or Amazon Keyspaces and its rule on write times. */
export type CassandraTarget = 'cassandra' | 'keyspaces';

/**
 * Amazon Keyspaces accepts a client-side timestamp only within 2 days before and 5 minutes after its
 * own clock ("Client-side timestamps" in its developer guide). The margins leave room for a batch's
 * retries and for the skew between the function's clock and the service's.
 */
export const KEYSPACES_WINDOW = {
  pastMs: 2 * 24 * 3600_000,
  futureMs: 5 * 60_000,
  marginMs: 60_000,
} as const;

/**
 * The write time of an event: its `updated_at` (the PostgreSQL commit's time, in ms) in microseconds,
 * the unit of `USING TIMESTAMP`. persist makes `updated_at` strictly increase with each user's
 * version (`greatest(now(), updated_at + 1 ms)`), so a late or replayed older version always carries
 * a lower write time and never overwrites a newer one, cell by cell. Unlike the version itself (1, 2,
 * 3 µs after 1970), it falls inside Keyspaces' window for every fresh event.
 */
export const writeTimeOf = (event: Pick<UserEvent, 'updated_at'>) =>
  // Exact: epoch microseconds stay below 2^53 until the year 2255.
  cassandraDriver.types.Long.fromNumber(event.updated_at * 1000);

/**
 * Whether an event's write time can be written: `future` when it is ahead of the clock by more than
 * Keyspaces allows (on Cassandra too: such a write would outrank every later one of that user until
 * its time came); `stale` on Keyspaces when it is older than the window (a replay of old records).
 */
export function writeTimeCheck(
  event: Pick<UserEvent, 'updated_at'>,
  now: Date,
  target: CassandraTarget,
): 'ok' | 'future' | 'stale' {
  const { pastMs, futureMs, marginMs } = KEYSPACES_WINDOW;
  if (event.updated_at > now.getTime() + futureMs - marginMs) return 'future';
  if (target === 'keyspaces' && event.updated_at < now.getTime() - pastMs + marginMs) return 'stale';
  return 'ok';
}
