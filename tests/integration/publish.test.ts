import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type pg from 'pg';
import { loadSettings, PublishSettings } from '#lib/config.ts';
import { dbPool } from '#lib/db.ts';
import { outcomeOf, TransientError } from '#lib/errors.ts';
import { kafkaProducer } from '#lib/kafka.ts';
import { latestEncoder, withRegistry } from '#lib/schema-registry.ts';
import { relayOutbox, type OutboxRelayDeps } from '#functions/publish/outbox-relay.ts';
import { outboxStore } from '#functions/publish/outbox-store.ts';
import { localResources } from '#infra/stack/local-stage/resources.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import { kafkaClient, unique } from '../support/clients.ts';
import {
  apiGatewayPost,
  lambdaContext,
  type HttpHandler,
  stubLocalFunctionEnv,
} from '../support/lambda-events.ts';
import { pipelinePool } from '../support/pipeline-db.ts';
import { persistGeneratedUsers, readTopicBetween, readTopicFrom, topicEnds } from '../support/stream.ts';

type Handler = HttpHandler;

const context = lambdaContext;
const post = (body: unknown) => apiGatewayPost(JSON.stringify(body));

const topic = localResources.usersTopic;

/**
 * The relay's dependencies as the handler builds them (the container's pool, producer and encoder,
 * which the handler's calls share), with `adjust` changing some of them; it gets the real ones.
 */
async function relayDeps(
  adjust: (real: OutboxRelayDeps) => Partial<OutboxRelayDeps> = () => ({}),
): Promise<OutboxRelayDeps> {
  const settings = loadSettings(PublishSettings);
  const [db, producer, { encode }] = await Promise.all([
    dbPool(settings),
    kafkaProducer(settings),
    withRegistry(settings, (registry) => latestEncoder(registry, settings.USERS_SUBJECT)),
  ]);
  const real: OutboxRelayDeps = {
    outbox: outboxStore(db),
    encode,
    send: async (messages) => {
      await producer.send({ topic, acks: -1, messages });
    },
    chunkSize: 500,
    maxEvents: 10_000,
    workers: 2,
    remainingMs: () => 29_000,
  };
  return { ...real, ...adjust(real) };
}

/** A promise and the function that resolves it: a step a test holds until it lets it go. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** The publish handler in-process, configured as serverless.yml configures the local stage. */
describe('publish, in-process against PostgreSQL, Kafka and the schema registry', () => {
  let publish: Handler;
  const pool = pipelinePool();
  const kafka = kafkaClient('publish-itest');
  const registry = new SchemaRegistry({ host: endpoints.registry.url });

  beforeAll(async () => {
    stubLocalFunctionEnv('publish', { USERS_TOPIC: topic, PUBLISH_CHUNK_SIZE: '500' });
    publish = (await import('#functions/publish/handler.ts')).handler;
    // Earlier tests' rows are not this file's business: publish them first.
    for (let remaining = 1; remaining > 0;) {
      const response = await publish(post({ drain: true }), context());
      remaining = (JSON.parse(response.body) as { remaining: number }).remaining;
    }
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await pool.end();
  });

  it('sends each outbox row as Avro keyed by user, with its event id, and marks it published', async () => {
    const seed = unique('publish');
    const keys = await persistGeneratedUsers(pool, seed, 1200);
    const from = await topicEnds(kafka, topic);

    const response = await publish(post({ drain: true }), context());
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ published: 1200, remaining: 0, inFlight: 0 });

    const wanted = new Set(keys);
    const messages = await readTopicFrom(kafka, topic, from, (m) => wanted.has(String(m.key)), 1200);
    expect(messages).toHaveLength(1200);
    expect(new Set(messages.map((m) => String(m.key))).size).toBe(1200);
    expect(new Set(messages.map((m) => m.partition)).size).toBeGreaterThan(1);

    const { rows } = await pool.query<{
      user_key: string;
      event_id: string;
      first_name: string;
      published: boolean;
    }>(
      `SELECT u.user_key, o.event_id, u.first_name, o.published_at IS NOT NULL AS published
         FROM outbox o JOIN users u USING (user_key) WHERE u.source_seed = $1`,
      [seed],
    );
    expect(rows.every((row) => row.published)).toBe(true);
    const byKey = new Map(rows.map((row) => [row.user_key, row]));
    for (const message of messages.slice(0, 50)) {
      const row = byKey.get(String(message.key));
      expect(String(message.headers?.['event-id'])).toBe(row?.event_id);
      expect(message.value?.[0]).toBe(0);
      const event = (await registry.decode(message.value ?? Buffer.alloc(0))) as {
        first_name: string;
        version: number;
      };
      expect(event).toMatchObject({ first_name: row?.first_name, version: 1 });
    }
  });

  it('stops at maxEvents and reports the rest, then the rest follows', async () => {
    const seed = unique('publish-max');
    await persistGeneratedUsers(pool, seed, 300);
    const first = await publish(post({ maxEvents: 120 }), context());
    expect(JSON.parse(first.body)).toEqual({ published: 120, remaining: 180, inFlight: 0 });
    const second = await publish(post({}), context());
    expect(JSON.parse(second.body)).toEqual({ published: 180, remaining: 0, inFlight: 0 });
  });

  it('lets concurrent callers share the outbox: each row sent once, none left out', async () => {
    const seed = unique('publish-concurrent');
    const keys = await persistGeneratedUsers(pool, seed, 3000);
    const from = await topicEnds(kafka, topic);
    const results = await Promise.all([
      publish(post({ drain: true }), context()),
      publish(post({ drain: true }), context()),
      publish(post({ drain: true }), context()),
    ]);
    const published = results.map((r) => (JSON.parse(r.body) as { published: number }).published);
    expect(published.reduce((a, b) => a + b, 0)).toBe(3000);
    // Everything the three calls wrote lies before these ends: read all of it, so that a row sent
    // twice shows up as two records and a row never sent as a missing key.
    const to = await topicEnds(kafka, topic);
    const wanted = new Set(keys);
    const messages = await readTopicBetween(kafka, topic, from, to, (m) => wanted.has(String(m.key)));
    expect(new Set(messages.map((m) => String(m.key)))).toEqual(wanted);
    expect(messages).toHaveLength(3000);
  });

  it('answers what a caller can still publish apart from what another call holds, and drains rows that arrive meanwhile', async () => {
    const seed = unique('publish-held');
    await persistGeneratedUsers(pool, seed, 1000);
    // Call A claims the oldest 400 rows and holds them, unsent, until the test lets it go on.
    const claimedByA = gate();
    const goOnA = gate();
    const a = relayOutbox(
      { maxEvents: 400, drain: false },
      await relayDeps((real) => ({
        workers: 1,
        chunkSize: 400,
        send: async (messages) => {
          claimedByA.open();
          await goOnA.opened;
          await real.send(messages);
        },
      })),
    );
    await claimedByA.opened;
    // Call B drains beside it: 500 rows, then the last 100 (a short claim), while which 50 users
    // more arrive; they are not held by anyone, so the drain goes on for them.
    let late = 0;
    const b = await relayOutbox(
      { drain: true },
      await relayDeps((real) => ({
        workers: 1,
        chunkSize: 500,
        send: async (messages) => {
          if (messages.length < 500 && late++ === 0) await persistGeneratedUsers(pool, `${seed}-late`, 50);
          await real.send(messages);
        },
      })),
    );
    expect(b).toEqual({ published: 650, remaining: 0, inFlight: 400 });
    goOnA.open();
    expect(await a).toEqual({ published: 400, remaining: 0, inFlight: 0 });
  });

  it('answers a transient error, and crashes nothing, when the database ends a connection a worker holds', async () => {
    await persistGeneratedUsers(pool, unique('publish-terminated'), 20);
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', record);
    try {
      const held: { client: pg.PoolClient; pid: number }[] = [];
      const deps = await relayDeps((real) => ({
        workers: 1,
        // The handler's pool, with a note of each connection it hands out and its backend.
        outbox: outboxStore({
          connect: async () => {
            const db = await dbPool(loadSettings(PublishSettings));
            const client = await db.connect();
            const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
            held.push({ client, pid: rows[0]?.pid ?? 0 });
            return client;
          },
        }),
        // While the claim waits for Kafka, its backend is terminated (as a server crash would end it).
        send: async (messages) => {
          const ended = held.map(
            ({ client }) =>
              new Promise<void>((resolve) => {
                client.once('end', resolve);
                setTimeout(resolve, 5000);
              }),
          );
          await pool.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [
            held.map(({ pid }) => pid),
          ]);
          await Promise.all(ended);
          await real.send(messages);
        },
      }));
      const failure = await relayOutbox({ drain: true }, deps).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(TransientError);
      expect(outcomeOf(failure).statusCode).toBe(503);
    } finally {
      process.off('uncaughtException', record);
    }
    expect(uncaught).toEqual([]);
    // The broken connection left the pool: the next call publishes the rows that claim left.
    const response = await publish(post({ drain: true }), context());
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ published: 20, remaining: 0, inFlight: 0 });
  });

  it('refuses a bad body with 400 and its reason', async () => {
    const response = await publish(post({ maxEvents: -1 }), context());
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({
      error: 'bad-request',
      message: expect.stringContaining('maxEvents') as unknown,
    });
  });
});
