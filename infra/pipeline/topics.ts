import type { Admin } from 'kafkajs';

/**
 * Creates `topic` with `partitions` partitions, or grows an existing one to that count (Kafka can add
 * partitions, never remove them: a topic with more is reported and left alone). Idempotent.
 */
export async function ensureTopic(
  admin: Admin,
  topic: string,
  partitions: number,
  report: (line: string) => void,
): Promise<void> {
  const existing = (await admin.listTopics()).includes(topic);
  if (!existing) {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    report(`created topic ${topic} with ${partitions} partitions`);
    return;
  }
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  const current = metadata.topics[0]?.partitions.length ?? 0;
  if (current < partitions) {
    await admin.createPartitions({ topicPartitions: [{ topic, count: partitions }] });
    report(`grew topic ${topic} from ${current} to ${partitions} partitions`);
  } else if (current > partitions) {
    report(`topic ${topic} has ${current} partitions, more than the ${partitions} configured: left as is`);
  }
}
