import type { Admin } from 'kafkajs';
import type { GroupProgress, TopicSide } from '#functions/console/api.ts';

/** A consumer group of the users topic and who it is. */
export interface ConsumerGroup {
  readonly groupId: string;
  readonly label: string;
}

/**
 * The topic's offsets per partition and each group's committed offset and lag there (a partition a
 * group never committed lags from its low watermark). Three admin calls per group at most: bounded
 * by the partitions, whatever the topic holds.
 */
export async function topicProgress(
  admin: Pick<Admin, 'fetchTopicOffsets' | 'fetchOffsets'>,
  topic: string,
  groups: readonly ConsumerGroup[],
): Promise<TopicSide> {
  const [ends, ...committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    ...groups.map((g) => admin.fetchOffsets({ groupId: g.groupId, topics: [topic] })),
  ]);
  const partitions = ends
    .map((end) => ({ partition: end.partition, low: Number(end.low), high: Number(end.high) }))
    .sort((a, b) => a.partition - b.partition);
  const progress = groups.map((group, index): GroupProgress => {
    const offsets = new Map(
      committed[index]?.[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? [],
    );
    const perPartition = partitions.map(({ partition, low, high }) => {
      const at = offsets.get(partition) ?? -1;
      return { partition, committed: at >= 0 ? at : null, lag: Math.max(0, high - (at >= 0 ? at : low)) };
    });
    return { ...group, partitions: perPartition, lag: perPartition.reduce((sum, p) => sum + p.lag, 0) };
  });
  return {
    topic,
    partitions,
    records: partitions.reduce((sum, p) => sum + p.high - p.low, 0),
    groups: progress,
  };
}

/** How many records of `topic` the consumer group has not committed yet, over all partitions. */
export async function consumerLag(
  admin: Pick<Admin, 'fetchTopicOffsets' | 'fetchOffsets'>,
  groupId: string,
  topic: string,
): Promise<number> {
  const side = await topicProgress(admin, topic, [{ groupId, label: groupId }]);
  return side.groups[0]?.lag ?? 0;
}
