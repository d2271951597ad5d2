import { loadSettings, PublishSettings } from '#lib/config.ts';
import { dbPool } from '#lib/db.ts';
import { httpHandler } from '#lib/http.ts';
import { compressionOf, discardKafkaProducer, kafkaProducer } from '#lib/kafka.ts';
import { lazy } from '#lib/once.ts';
import { latestEncoder, withRegistry } from '#lib/schema-registry.ts';
import { relayOutbox, PublishRequest, type OutboxRelayDeps } from './outbox-relay.ts';
import { outboxStore } from './outbox-store.ts';

/**
 * POST /publish {maxEvents?, drain?}: the composition root. Settings at cold start; the database
 * pool, the producer and the schema lookup on first use, then kept for the container's life.
 */
const settings = loadSettings(PublishSettings);
const compression = compressionOf(settings.KAFKA_COMPRESSION);

/** The encoder, looked up on first use and kept; a failed lookup is not kept, so the next call retries. */
const encoder = lazy(() =>
  withRegistry(settings, (registry) => latestEncoder(registry, settings.USERS_SUBJECT)),
);

/** The publish function: one relay call per request, with the clients this container keeps. */
export const handler = httpHandler(PublishRequest, async (request, context) => {
  const [pool, producer, { encode }] = await Promise.all([
    dbPool(settings),
    kafkaProducer(settings),
    encoder(),
  ]);
  const deps: OutboxRelayDeps = {
    outbox: outboxStore(pool),
    encode,
    send: async (messages) => {
      try {
        await producer.send({ topic: settings.USERS_TOPIC, acks: -1, compression, messages });
      } catch (error) {
        await discardKafkaProducer();
        throw error;
      }
    },
    chunkSize: settings.PUBLISH_CHUNK_SIZE,
    maxEvents: settings.PUBLISH_MAX_EVENTS,
    workers: settings.DB_POOL_MAX,
    remainingMs: () => context.getRemainingTimeInMillis(),
  };
  return relayOutbox(request, deps);
});
