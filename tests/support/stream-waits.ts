/**
 * The waits of the stream tests: until Cassandra holds a set of users, until the dead-letter queue
 * holds given records.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type cassandraDriver from 'cassandra-driver';
import { localKafka, localQueue } from '#infra/stack/local-stage/clients.ts';
import { localResources } from '#infra/stack/local-stage/resources.ts';
import { waitUntil } from '#infra/stack/lib/wait.ts';
import type { DeadLetter } from '#functions/sink/dead-letter.ts';
import { cassandraChecksum } from '#scripts/user-checksums.ts';

/** Waits until Cassandra holds all `keys` (counted with a checksum), and returns that checksum. */
export async function waitForCassandra(
  cassandra: cassandraDriver.Client,
  keys: readonly string[],
  timeoutMs = 180_000,
): Promise<{ count: number; checksum: string }> {
  let last = { count: 0, checksum: '' };
  await waitUntil(
    async () => {
      last = await cassandraChecksum(cassandra, localResources.keyspace, keys);
      return last.count === keys.length;
    },
    { timeoutMs, intervalMs: 1000 },
  );
  return last;
}

/**
 * Reads the local dead-letter queue (the local store's folder, where the sink under `sls offline`
 * writes) until `wanted` letters match `keep` or the timeout; the letters stay in the queue.
 */
export async function receiveDeadLetters(
  keep: (letter: DeadLetter) => boolean,
  wanted: number,
  timeoutMs = 60_000,
): Promise<DeadLetter[]> {
  const queue = localQueue(localResources.deadLetterQueue);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const messages = await queue.receive(Number.POSITIVE_INFINITY, 0);
    const found = messages.map((m) => JSON.parse(m.body) as DeadLetter).filter(keep);
    if (found.length >= wanted || Date.now() >= deadline) return found;
    await sleep(1000);
  }
}

/**
 * Moves the sink's consumer group to the end of the users topic, so that a test waits for its own
 * events only, not for a backlog that earlier runs left on a long-lived local stack. Call it while no
 * `sls offline` runs; a killed one's membership lasts until its session times out, so it retries.
 */
export async function skipSinkBacklog(timeoutMs = 90_000): Promise<void> {
  const admin = localKafka('e2e-skip-backlog').admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        // Explicit end offsets: kafkajs's resetOffsets commits the sentinel -1, which a consumer
        // subscribed from the beginning reads as "no offset" and starts over from the start.
        const ends = await admin.fetchTopicOffsets(localResources.usersTopic);
        await admin.setOffsets({
          groupId: localResources.sinkConsumerGroup,
          topic: localResources.usersTopic,
          partitions: ends.map(({ partition, high }) => ({ partition, offset: high })),
        });
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(2000);
      }
    }
  } finally {
    await admin.disconnect();
  }
}
