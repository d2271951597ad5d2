import { z } from 'zod';

/**
 * One Kafka record as the event-source mapping delivers it: key and value base64, headers as arrays
 * of byte values (AWS sends them signed, -128..127). A record with no key or value lacks the field
 * or carries null.
 */
export const KafkaRecord = z.object({
  topic: z.string().min(1),
  partition: z.number().int().min(0),
  offset: z.number().int().min(0),
  timestamp: z.number(),
  timestampType: z.enum(['CREATE_TIME', 'LOG_APPEND_TIME', 'NO_TIMESTAMP_TYPE']),
  key: z.string().nullish(),
  value: z.string().nullish(),
  headers: z.array(z.record(z.string(), z.array(z.number().int().min(-128).max(255)))).default([]),
});
export type KafkaRecord = z.infer<typeof KafkaRecord>;

const records = z.record(z.string(), z.array(KafkaRecord));

/**
 * The two event shapes of Lambda's Kafka event-source mappings: Amazon MSK (`aws:kafka`, with the
 * cluster's ARN) and self-managed Kafka (`SelfManagedKafka`, the project's offline trigger included).
 * Records are grouped by `topic-partition`. Powertools' parser schemas decode values as UTF-8 text,
 * which would corrupt Avro, so the sink parses the envelope with its own schema.
 */
export const KafkaEvent = z.discriminatedUnion('eventSource', [
  z.object({
    eventSource: z.literal('aws:kafka'),
    eventSourceArn: z.string().min(1),
    bootstrapServers: z.string().optional(),
    records,
  }),
  z.object({
    eventSource: z.literal('SelfManagedKafka'),
    bootstrapServers: z.string().optional(),
    records,
  }),
]);
export type KafkaEvent = z.infer<typeof KafkaEvent>;

/** The records of an event, partition by partition, each partition in offset order. */
export function recordsOf(event: KafkaEvent): KafkaRecord[] {
  return Object.values(event.records).flatMap((partition) =>
    [...partition].sort((a, b) => a.offset - b.offset),
  );
}

/** Where a record came from, as logs and the dead-letter queue name it. */
export const recordId = (record: KafkaRecord): string =>
  `${record.topic}-${record.partition}@${record.offset}`;
