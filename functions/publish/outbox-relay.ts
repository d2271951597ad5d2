import type { Message } from 'kafkajs';
import pLimit from 'p-limit';
import { z } from 'zod';
import { ConfigError, TransientError } from '../lib/errors.js';
import { logger } from '../lib/logger.js';
import type { UserEvent } from '../lib/user-event.js';

/** POST /publish body: at most `maxEvents` events, or `drain` the outbox within the call's time. */
export const PublishRequest = z
  .strictObject({
    maxEvents: z.number().int('maxEvents must be a whole number').min(1).max(10_000_000).optional(),
    drain: z.boolean().default(false),
  })
  .refine((r) => !(r.drain && r.maxEvents !== undefined), 'give either maxEvents or drain, not both');
export type PublishRequest = z.infer<typeof PublishRequest>;

/** The part of a pooled PostgreSQL connection the relay uses. */
export interface RelayConnection {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  release(error?: Error): void;
}

export interface OutboxRelayDeps {
  /** A connection of its own per worker: each claim is a transaction. */
  readonly connect: () => Promise<RelayConnection>;
  /** The event in the Confluent wire format (schema id header + Avro). */
  readonly encode: (event: UserEvent) => Buffer;
  /** Sends to the topic and resolves once the broker acknowledged every message. */
  readonly send: (messages: Message[]) => Promise<void>;
  /** Outbox rows per claim (one transaction, one send). */
  readonly chunkSize: number;
  /** Events per call when the request names no maxEvents. */
  readonly maxEvents: number;
  /** Claims in flight at once; each holds a connection (keep it within the pool size). */
  readonly workers: number;
  /** Milliseconds the caller has left; drain stops claiming when one more chunk might not fit. */
  readonly remainingMs: () => number;
}

export interface PublishResult {
  /** Events sent and acknowledged, and their outbox rows marked, by this call. */
  readonly published: number;
  /** Outbox rows still unpublished when the call ended (others' claims included). */
  readonly remaining: number;
}

/** Stop claiming when less than this is left of the call: a chunk's send and mark must fit. */
const DRAIN_RESERVE_MS = 5000;

/** A user event row as pg returns USER_EVENT_COLUMNS: the epoch milliseconds arrive as strings. */
export interface UserEventRow extends Omit<UserEvent, 'updated_at' | 'date_of_birth' | 'registered_at'> {
  readonly updated_at: string;
  readonly date_of_birth: string;
  readonly registered_at: string;
}

/** A claimed row: the event's columns and the outbox row's id (a bigint, so a string too). */
interface ClaimedRow extends UserEventRow {
  readonly id: string;
}

/**
 * The columns of a user event, selected from `outbox o JOIN users u`: timestamps as epoch
 * milliseconds (bigint, so pg returns them as strings: see `eventOf`), truncated as pg's own date
 * parsing and every minute window downstream truncate (rounding put a time in a minute's last half
 * millisecond into the next minute for Spark), coordinates as doubles.
 */
export const USER_EVENT_COLUMNS = `o.event_id, o.event_type, u.user_key, u.version,
  floor(extract(epoch FROM u.updated_at) * 1000)::bigint AS updated_at,
  u.gender, u.title, u.first_name, u.last_name, u.username, u.login_uuid, u.email, u.phone, u.cell,
  floor(extract(epoch FROM u.date_of_birth) * 1000)::bigint AS date_of_birth,
  floor(extract(epoch FROM u.registered_at) * 1000)::bigint AS registered_at,
  u.street_number, u.street_name, u.city, u.state, u.country, u.postcode,
  u.latitude::float8 AS latitude, u.longitude::float8 AS longitude,
  u.timezone_offset, u.timezone_description, u.national_id_name, u.national_id_value,
  u.picture_large, u.picture_medium, u.picture_thumbnail, u.nat`;

/**
 * Claims unpublished outbox rows with the users they announce. SKIP LOCKED lets concurrent callers
 * take disjoint rows; the event carries the user's current content and version, so an older outbox
 * row re-sent late announces the newest state, never an old one.
 */
const CLAIM = `
  SELECT o.id, ${USER_EVENT_COLUMNS}
    FROM outbox o JOIN users u ON u.user_key = o.user_key
   WHERE o.published_at IS NULL
   ORDER BY o.id
   LIMIT $1
     FOR UPDATE OF o SKIP LOCKED`;

const MARK = 'UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])';

const REMAINING = 'SELECT count(*)::int AS remaining FROM outbox WHERE published_at IS NULL';

/** A row of USER_EVENT_COLUMNS as the event the Avro schema describes. */
export function eventOf(row: UserEventRow & { id?: string }): UserEvent {
  const { id, ...event } = row;
  return {
    ...event,
    updated_at: Number(row.updated_at),
    date_of_birth: Number(row.date_of_birth),
    registered_at: Number(row.registered_at),
  };
}

/** The Kafka message of an event: keyed by the user, so that one user's events stay in order. */
export const messageOf = (event: UserEvent, value: Buffer): Message => ({
  key: event.user_key,
  value,
  headers: { 'event-id': event.event_id, 'event-type': event.event_type },
});

/**
 * Relays the outbox to Kafka, at least once: each worker claims a chunk in a transaction, sends it,
 * and marks it published only after the broker acknowledged it, then commits. A crash between send
 * and commit leaves the rows unpublished, so they are sent again; the user key and version make the
 * copy harmless downstream. Sends go one at a time through the idempotent producer (its sequence
 * numbers need it); claiming, encoding and marking of other chunks overlap with them.
 */
export async function relayOutbox(request: PublishRequest, deps: OutboxRelayDeps): Promise<PublishResult> {
  const budget = request.drain ? Number.POSITIVE_INFINITY : (request.maxEvents ?? deps.maxEvents);
  let reserved = 0;
  let published = 0;
  let exhausted = false;
  const sendOneAtATime = pLimit(1);

  const mayClaim = (): boolean =>
    !exhausted && reserved < budget && (!request.drain || deps.remainingMs() > DRAIN_RESERVE_MS);

  const worker = async (): Promise<void> => {
    const connection = await connectOrFail(deps);
    let broken: Error | undefined;
    try {
      while (mayClaim()) {
        const size = Math.min(deps.chunkSize, budget - reserved);
        reserved += size;
        const sent = await relayChunk(connection, size, deps, sendOneAtATime);
        reserved -= size - sent;
        published += sent;
        if (sent < size) exhausted = true;
      }
    } catch (error) {
      // The other workers stop claiming too: the call fails, and what is unmarked is sent next time.
      exhausted = true;
      broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      connection.release(broken);
    }
  };

  const outcomes = await Promise.allSettled(Array.from({ length: deps.workers }, worker));
  const failed = outcomes.find((o) => o.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  const remaining = await countRemaining(deps);
  logger.info('outbox relayed', { published, remaining });
  return { published, remaining };
}

async function connectOrFail(deps: OutboxRelayDeps): Promise<RelayConnection> {
  try {
    return await deps.connect();
  } catch (error) {
    throw new TransientError('the database is unavailable', { cause: error });
  }
}

/** One claim → send → mark transaction; returns how many events it published (0: nothing left). */
async function relayChunk(
  connection: RelayConnection,
  size: number,
  deps: OutboxRelayDeps,
  sendOneAtATime: ReturnType<typeof pLimit>,
): Promise<number> {
  await query(connection, 'BEGIN');
  try {
    // The claim's columns are the ClaimedRow's, by construction of CLAIM.
    const rows = (await query(connection, CLAIM, [size])).rows as unknown as ClaimedRow[];
    if (rows.length > 0) {
      const messages = rows.map((row) => {
        const event = eventOf(row);
        return messageOf(event, encodeOrFail(deps, event));
      });
      await sendOneAtATime(async () => {
        try {
          await deps.send(messages);
        } catch (error) {
          throw new TransientError('Kafka did not acknowledge the events', { cause: error });
        }
      });
      await query(connection, MARK, [rows.map((row) => row.id)]);
    }
    await query(connection, 'COMMIT');
    return rows.length;
  } catch (error) {
    await connection.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** An event the registered schema cannot encode is a deployment fault (schema and code disagree). */
function encodeOrFail(deps: OutboxRelayDeps, event: UserEvent): Buffer {
  try {
    return deps.encode(event);
  } catch (error) {
    throw new ConfigError('a user event does not fit the registered Avro schema', { cause: error });
  }
}

async function query(
  connection: RelayConnection,
  text: string,
  values?: unknown[],
): Promise<{ rows: Record<string, unknown>[] }> {
  try {
    return await connection.query(text, values);
  } catch (error) {
    throw new TransientError('the outbox could not be read or marked', { cause: error });
  }
}

async function countRemaining(deps: OutboxRelayDeps): Promise<number> {
  const connection = await connectOrFail(deps);
  try {
    const { rows } = await query(connection, REMAINING);
    return Number(rows[0]?.['remaining'] ?? 0);
  } finally {
    connection.release();
  }
}
