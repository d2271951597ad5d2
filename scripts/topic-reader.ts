/**
 * Reading a topic back from given offsets, with a consumer group of its own that commits nothing:
 * what the chaos run's checks and the stream tests need to count what a topic holds.
 */
import type { Kafka, KafkaMessage } from 'kafkajs';

/**
 * Reads `topic` from `from` (offset by partition), handing each record to `each` until it answers
 * true or `timeoutMs` passes. True when `each` said it was done.
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  from: ReadonlyMap<number, string>,
  each: (message: KafkaMessage, partition: number) => boolean,
  timeoutMs: number,
): Promise<boolean> {
  const consumer = kafka.consumer({
    groupId: `reader-${Date.now()}-${Math.random()}`,
    maxBytes: 16 * 1024 * 1024,
  });
  await consumer.connect();
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done: () => void = () => undefined;
    const finished = new Promise<boolean>(
      (resolve) =>
        (done = () => {
          resolve(true);
        }),
    );
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const [partition, offset] of from) consumer.seek({ topic, partition, offset });
    });
    let over = false;
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ message, partition }) => {
        if (!over && each(message, partition)) {
          over = true;
          done();
        }
        return Promise.resolve();
      },
    });
    const timeout = new Promise<boolean>(
      (resolve) =>
        (timer = setTimeout(() => {
          resolve(false);
        }, timeoutMs)),
    );
    return await Promise.race([finished, timeout]);
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}

/**
 * Hands `each` every record between two sets of offsets (`from` inclusive, `to` exclusive): the
 * whole range, so a record written twice is seen twice. True once every partition reached its end.
 */
export async function readTopicRange(
  kafka: Kafka,
  topic: string,
  from: ReadonlyMap<number, string>,
  to: ReadonlyMap<number, string>,
  each: (message: KafkaMessage, partition: number) => void,
  timeoutMs: number,
): Promise<boolean> {
  const pending = new Set(
    [...to].filter(([partition, end]) => BigInt(end) > BigInt(from.get(partition) ?? '0')).map(([p]) => p),
  );
  if (pending.size === 0) return true;
  return readTopic(
    kafka,
    topic,
    from,
    (message, partition) => {
      const end = BigInt(to.get(partition) ?? '0');
      if (BigInt(message.offset) >= end) return pending.size === 0;
      each(message, partition);
      if (BigInt(message.offset) + 1n >= end) pending.delete(partition);
      return pending.size === 0;
    },
    timeoutMs,
  );
}
