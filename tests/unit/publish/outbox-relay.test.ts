import type { Message } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ConfigError, TransientError } from '#lib/errors.ts';
import type { UserEvent } from '#lib/user-event.ts';
import { PublishRequest, relayOutbox, type OutboxRelayDeps } from '#functions/publish/outbox-relay.ts';
import type { OutboxConnection, OutboxStore, OutboxTransaction } from '#functions/publish/outbox-store.ts';
import { userEvent } from '#tests/fixtures/kafka-events.ts';

/**
 * An outbox in memory behind the store's port, with the semantics of its SQL: a claim takes the
 * lowest unpublished ids not claimed by another open transaction (SKIP LOCKED), a mark publishes them
 * at commit, a rollback frees them.
 */
function memoryOutbox(size: number) {
  const published = new Set<number>();
  const locked = new Set<number>();
  const log: string[] = [];
  const rows = Array.from({ length: size }, (_, i) => i + 1);
  /** Rows persisted later, as persist adds them beside a running relay. */
  const add = (count: number) => {
    for (let i = 0; i < count; i++) rows.push(rows.length + 1);
  };
  const connection: OutboxConnection = {
    transaction: async <T>(work: (outbox: OutboxTransaction) => Promise<T>): Promise<T> => {
      const claimed: number[] = [];
      let marked: number[] = [];
      const outbox: OutboxTransaction = {
        claim: (limit) => {
          const ids = rows.filter((id) => !published.has(id) && !locked.has(id)).slice(0, limit);
          for (const id of ids) locked.add(id);
          claimed.push(...ids);
          log.push(`claim ${ids.length}`);
          return Promise.resolve(
            ids.map((id) => ({
              id: String(id),
              event: userEvent({ user_key: `00000000-0000-5000-8000-${String(id).padStart(12, '0')}` }),
            })),
          );
        },
        markPublished: (ids) => {
          marked = ids.map(Number);
          log.push(`mark ${marked.length}`);
          return Promise.resolve();
        },
      };
      try {
        const result = await work(outbox);
        for (const id of marked) published.add(id);
        return result;
      } catch (error) {
        log.push('rollback');
        throw error;
      } finally {
        for (const id of claimed) locked.delete(id);
      }
    },
    release: () => undefined,
  };
  const store: OutboxStore = {
    connect: () => Promise.resolve(connection),
    backlog: () => Promise.resolve({ remaining: rows.length - published.size, inFlight: 0 }),
  };
  return { store, published, log, add };
}

const deps = (outbox: ReturnType<typeof memoryOutbox>, overrides: Partial<OutboxRelayDeps> = {}) => {
  const sent: Message[] = [];
  const relayDeps: OutboxRelayDeps = {
    outbox: outbox.store,
    encode: (event: UserEvent) => Buffer.from(event.user_key),
    send: (messages) => {
      outbox.log.push(`send ${messages.length}`);
      sent.push(...messages);
      return Promise.resolve();
    },
    chunkSize: 10,
    maxEvents: 1000,
    workers: 2,
    remainingMs: () => 29_000,
    ...overrides,
  };
  return { relayDeps, sent };
};

describe('the publish request', () => {
  it('accepts an empty body, maxEvents or drain, and refuses the rest with a message', () => {
    expect(PublishRequest.parse({})).toEqual({ drain: false });
    expect(PublishRequest.parse({ maxEvents: 5 })).toEqual({ maxEvents: 5, drain: false });
    expect(PublishRequest.safeParse({ maxEvents: 0 }).success).toBe(false);
    expect(PublishRequest.safeParse({ maxEvents: 5, drain: true }).error?.issues[0]?.message).toBe(
      'give either maxEvents or drain, not both',
    );
    expect(PublishRequest.safeParse({ topic: 'x' }).success).toBe(false);
  });
});

describe('relaying the outbox', () => {
  it('sends every row once, keyed by user with its event id in a header, and marks each chunk after its send', async () => {
    const outbox = memoryOutbox(35);
    const { relayDeps, sent } = deps(outbox);
    expect(await relayOutbox({ drain: true }, relayDeps)).toEqual({
      published: 35,
      remaining: 0,
      inFlight: 0,
    });
    expect(new Set(sent.map((m) => String(m.key))).size).toBe(35);
    expect(sent[0]?.headers).toEqual({ 'event-id': userEvent().event_id, 'event-type': 'user.created' });
    // Every mark follows the send of the same chunk.
    const sends = outbox.log.filter((l) => l.startsWith('send')).length;
    expect(sends).toBe(4);
    expect(outbox.log.indexOf('mark 10')).toBeGreaterThan(outbox.log.indexOf('send 10'));
  });

  it('stops at maxEvents and reports what is left', async () => {
    const outbox = memoryOutbox(50);
    const { relayDeps, sent } = deps(outbox);
    expect(await relayOutbox({ maxEvents: 25, drain: false }, relayDeps)).toEqual({
      published: 25,
      remaining: 25,
      inFlight: 0,
    });
    expect(sent).toHaveLength(25);
  });

  it('leaves a chunk unpublished when Kafka does not acknowledge it, so the next call sends it again', async () => {
    const outbox = memoryOutbox(10);
    const failing = deps(outbox, { send: () => Promise.reject(new Error('KafkaJSNumberOfRetriesExceeded')) });
    await expect(relayOutbox({ drain: true }, failing.relayDeps)).rejects.toBeInstanceOf(TransientError);
    expect(outbox.published.size).toBe(0);
    expect(outbox.log).toContain('rollback');
    const { relayDeps, sent } = deps(outbox);
    expect(await relayOutbox({ drain: true }, relayDeps)).toEqual({
      published: 10,
      remaining: 0,
      inFlight: 0,
    });
    expect(sent).toHaveLength(10);
  });

  it('stops every worker once one fails, so a failed call does not go on draining', async () => {
    const outbox = memoryOutbox(100);
    let sends = 0;
    const { relayDeps } = deps(outbox, {
      send: () => (++sends === 1 ? Promise.reject(new Error('broker gone')) : Promise.resolve()),
    });
    await expect(relayOutbox({ drain: true }, relayDeps)).rejects.toBeInstanceOf(TransientError);
    // The other worker may finish the chunk it holds, and claims nothing after that.
    expect(outbox.published.size).toBeLessThanOrEqual(10);
  });

  it('goes on draining after a short claim, since rows may have arrived or been freed since', async () => {
    const outbox = memoryOutbox(15);
    let late = 0;
    const { relayDeps, sent } = deps(outbox, {
      workers: 1,
      send: (messages) => {
        // The short claim of the last 5 rows: 3 users arrive while it is being sent.
        if (messages.length < 10 && late++ === 0) outbox.add(3);
        sent.push(...messages);
        return Promise.resolve();
      },
    });
    expect(await relayOutbox({ drain: true }, relayDeps)).toEqual({
      published: 18,
      remaining: 0,
      inFlight: 0,
    });
    expect(new Set(sent.map((m) => String(m.key))).size).toBe(18);
  });

  it('stops claiming in drain mode when the call is about to run out of time', async () => {
    const outbox = memoryOutbox(100);
    let left = 8000;
    const { relayDeps } = deps(outbox, {
      workers: 1,
      remainingMs: () => (left -= 1000),
    });
    const result = await relayOutbox({ drain: true }, relayDeps);
    expect(result.published).toBeGreaterThan(0);
    expect(result.published).toBeLessThan(100);
    expect(result.published + result.remaining).toBe(100);
  });

  it('reports an event the registered schema cannot encode as a deployment fault, and sends nothing', async () => {
    const outbox = memoryOutbox(3);
    const { relayDeps, sent } = deps(outbox, {
      encode: () => {
        throw new Error('invalid "int": "x"');
      },
    });
    await expect(relayOutbox({ drain: true }, relayDeps)).rejects.toBeInstanceOf(ConfigError);
    expect(sent).toEqual([]);
    expect(outbox.published.size).toBe(0);
  });
});
