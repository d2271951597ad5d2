import { connectOrUnavailable } from '#lib/db.ts';
import { TransientError } from '#lib/errors.ts';
import type { UserEvent } from '#lib/user-event.ts';

/** The part of a pooled PostgreSQL connection the store uses (pg's PoolClient is one). */
export interface OutboxClient {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  release(error?: Error): void;
}

/** Where the store takes its connections from (pg's Pool is one). */
export interface OutboxPool {
  connect(): Promise<OutboxClient>;
}

/** A claimed outbox row: its id (a bigint, which pg returns as a string) and the event it announces. */
export interface ClaimedEvent {
  readonly id: string;
  readonly event: UserEvent;
}

/** What one relay transaction can do with the outbox. */
export interface OutboxTransaction {
  /**
   * Claims up to `limit` unpublished rows, oldest first, locked until the transaction ends; rows that
   * another open transaction holds are skipped, so concurrent claims take disjoint rows. At most one
   * claim per transaction: the transaction announces how many rows it holds (see `backlog`).
   */
  claim(limit: number): Promise<ClaimedEvent[]>;
  /** Marks rows published: it takes effect, and frees them from re-sending, when the transaction commits. */
  markPublished(ids: readonly string[]): Promise<void>;
}

/** One pooled connection, held by one relay worker for the whole call. */
export interface OutboxConnection {
  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it throws (the error
   * is thrown on), so a claim that was not marked leaves its rows unpublished and unlocked.
   */
  transaction<T>(work: (outbox: OutboxTransaction) => Promise<T>): Promise<T>;
  /** Gives the connection back; with an error, the pool drops it instead of reusing it. */
  release(error?: Error): void;
}

/** The unpublished outbox rows, told apart by whether a caller could claim them now. */
export interface OutboxBacklog {
  /** Unpublished rows no open claim holds: what the next call would claim. */
  readonly remaining: number;
  /** Unpublished rows other calls hold in open claims: sent and marked by them, or freed if they fail. */
  readonly inFlight: number;
}

/** The outbox as the relay uses it: a connection per worker, and what is left at the end. */
export interface OutboxStore {
  /** A connection of its own (each claim is a transaction on it); unavailable is a TransientError. */
  connect(): Promise<OutboxConnection>;
  /** The unpublished rows, those held by open claims apart. */
  backlog(): Promise<OutboxBacklog>;
}

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

/**
 * The first key of the advisory lock by which a claim announces how many rows it holds. Row locks
 * are visible to no other session, so a claim also takes a shared, transaction-scoped advisory lock
 * (this key, its row count), which pg_locks shows to everyone and which ends with the transaction,
 * as the row locks do. Shared locks never wait for each other: it costs one statement per claim.
 */
export const CLAIM_LOCK_KEY = 0x6f757462; // 'outb'

const ANNOUNCE_CLAIM = 'SELECT pg_advisory_xact_lock_shared($1, $2)';

/**
 * The unpublished rows and those open claims hold, read in one statement. A claim that ends between
 * the two reads counts as unpublished and not held: the answer errs towards more work, never less.
 */
const BACKLOG = `
  SELECT (SELECT count(*)::int FROM outbox WHERE published_at IS NULL) AS unpublished,
         (SELECT coalesce(sum(objid::int8), 0)::int FROM pg_locks
           WHERE locktype = 'advisory' AND granted AND classid = $1::int8::oid AND objsubid = 2
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
         ) AS in_flight`;

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

/**
 * The outbox in PostgreSQL: every statement the relay runs. Each call of `connect` takes a pooled
 * connection of its own, since a claim's locks live in its connection's transaction.
 */
export function outboxStore(pool: OutboxPool): OutboxStore {
  return {
    connect: async () => connectionOf(await connectOrUnavailable(pool)),
    backlog: async () => {
      const client = await connectOrUnavailable(pool);
      let broken: Error | undefined;
      try {
        const { rows } = await run(client, BACKLOG, [CLAIM_LOCK_KEY]);
        const unpublished = Number(rows[0]?.['unpublished'] ?? 0);
        const inFlight = Math.min(unpublished, Number(rows[0]?.['in_flight'] ?? 0));
        return { remaining: unpublished - inFlight, inFlight };
      } catch (error) {
        broken = error instanceof Error ? error : new Error(String(error));
        throw error;
      } finally {
        client.release(broken);
      }
    },
  };
}

function connectionOf(client: OutboxClient): OutboxConnection {
  const outbox: OutboxTransaction = {
    claim: async (limit) => {
      // The claim's columns are the ClaimedRow's, by construction of CLAIM.
      const rows = (await run(client, CLAIM, [limit])).rows as unknown as ClaimedRow[];
      if (rows.length > 0) await run(client, ANNOUNCE_CLAIM, [CLAIM_LOCK_KEY, rows.length]);
      return rows.map((row) => ({ id: row.id, event: eventOf(row) }));
    },
    markPublished: async (ids) => {
      await run(client, MARK, [ids]);
    },
  };
  return {
    transaction: async <T>(work: (tx: OutboxTransaction) => Promise<T>): Promise<T> => {
      await run(client, 'BEGIN');
      try {
        const result = await work(outbox);
        await run(client, 'COMMIT');
        return result;
      } catch (error) {
        // The error that got here is the one to report; a failed rollback adds nothing to it (the
        // broken connection is released with that error and dropped, which ends the transaction).
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    },
    release: (error) => {
      client.release(error);
    },
  };
}

/** A statement whose failure (connection lost, serialization, timeout) may pass on the next call. */
async function run(
  client: OutboxClient,
  text: string,
  values?: unknown[],
): Promise<{ rows: Record<string, unknown>[] }> {
  try {
    return await client.query(text, values);
  } catch (error) {
    throw new TransientError('the outbox could not be read or marked', { cause: error });
  }
}
