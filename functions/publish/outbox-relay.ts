import type { Message } from 'kafkajs';
import pLimit from 'p-limit';
import { z } from 'zod';
import { ConfigError, TransientError } from '#lib/errors.ts';
import { logger } from '#lib/logger.ts';
import type { UserEvent } from '#lib/user-event.ts';
import type { OutboxConnection, OutboxStore } from './outbox-store.ts';

/** POST /publish body: at most `maxEvents` events, or `drain` the outbox within the call's time. */
export const PublishRequest = z
  .strictObject({
    maxEvents: z.number().int('maxEvents must be a whole number').min(1).max(10_000_000).optional(),
    drain: z.boolean().default(false),
  })
  .refine((r) => !(r.drain && r.maxEvents !== undefined), 'give either maxEvents or drain, not both');
export type PublishRequest = z.infer<typeof PublishRequest>;

/** What the relay works with: the outbox, the encoder and the producer, and its limits. */
export interface OutboxRelayDeps {
  /** The outbox: a connection per worker, on which each claim is a transaction. */
  readonly outbox: OutboxStore;
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

/** What one call did, and what it left for the next. */
export interface PublishResult {
  /** Events sent and acknowledged, and their outbox rows marked, by this call. */
  readonly published: number;
  /** Outbox rows unpublished and unclaimed when the call ended: what another call would publish. */
  readonly remaining: number;
  /** Outbox rows other calls held in open claims when the call ended: theirs to publish. */
  readonly inFlight: number;
}

/** Stop claiming when less than this is left of the call: a chunk's send and mark must fit. */
const DRAIN_RESERVE_MS = 5000;

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
    const connection = await deps.outbox.connect();
    let broken: Error | undefined;
    try {
      while (mayClaim()) {
        const size = Math.min(deps.chunkSize, budget - reserved);
        reserved += size;
        const sent = await relayChunk(connection, size, deps, sendOneAtATime);
        reserved -= size - sent;
        published += sent;
        // Only an empty claim means nothing is left to claim. A short one took what was unclaimed
        // when it ran; rows another call held then may be free again (its call failed), and rows
        // persisted meanwhile are new: the next claim finds them, or finds none and ends the call.
        if (sent === 0) exhausted = true;
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
  const { remaining, inFlight } = await deps.outbox.backlog();
  logger.info('outbox relayed', { published, remaining, inFlight });
  return { published, remaining, inFlight };
}

/** One claim → send → mark transaction; returns how many events it published (0: nothing left). */
function relayChunk(
  connection: OutboxConnection,
  size: number,
  deps: OutboxRelayDeps,
  sendOneAtATime: ReturnType<typeof pLimit>,
): Promise<number> {
  return connection.transaction(async (outbox) => {
    const claimed = await outbox.claim(size);
    if (claimed.length > 0) {
      const messages = claimed.map(({ event }) => messageOf(event, encodeOrFail(deps, event)));
      await sendOneAtATime(async () => {
        try {
          await deps.send(messages);
        } catch (error) {
          throw new TransientError('Kafka did not acknowledge the events', { cause: error });
        }
      });
      await outbox.markPublished(claimed.map(({ id }) => id));
    }
    return claimed.length;
  });
}

/** An event the registered schema cannot encode is a deployment fault (schema and code disagree). */
function encodeOrFail(deps: OutboxRelayDeps, event: UserEvent): Buffer {
  try {
    return deps.encode(event);
  } catch (error) {
    throw new ConfigError('a user event does not fit the registered Avro schema', { cause: error });
  }
}
