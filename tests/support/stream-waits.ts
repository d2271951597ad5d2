/**
 * The waits of the stream tests: until Cassandra holds a set of users, until the dead-letter queue
 * holds given records.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type cassandraDriver from 'cassandra-driver';
import { localQueueUrl } from '#infra/stack/local-stage/resources.ts';
import { localKafka } from '#infra/stack/local-stage/clients.ts';
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

/** Receives from the local dead-letter queue until `wanted` letters matched `keep` or the timeout. */
export async function receiveDeadLetters(
  sqs: SQSClient,
  keep: (letter: DeadLetter) => boolean,
  wanted: number,
  timeoutMs = 60_000,
): Promise<DeadLetter[]> {
  const found: DeadLetter[] = [];
  const deadline = Date.now() + timeoutMs;
  while (found.length < wanted && Date.now() < deadline) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: localQueueUrl(localResources.deadLetterQueue),
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    found.push(...Messages.map((m) => JSON.parse(m.Body ?? '{}') as DeadLetter).filter(keep));
  }
  return found;
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
