/**
 * Turns kafkajs messages into the event AWS Lambda's Kafka event-source mapping delivers, and measures
 * its serialized size. Pure: no I/O, no clock.
 *
 * The shape follows the AWS samples (with-msk.html and with-kafka.html, "Example event"):
 * `records` is keyed by `<topic>-<partition>`; partition, offset and timestamp are numbers; key and
 * value are base64; each header is a one-entry object whose value is the header's bytes as numbers.
 */
import type { IHeaders, KafkaMessage } from 'kafkajs';

/**
 * The synchronous invoke payload limit, which also bounds a Kafka batch (AWS: "The payload size
 * reaches 6 MB. You cannot modify this limit."). serverless-offline's invoke route enforces the same.
 */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** One header of a record: the name mapped to the value's bytes as signed numbers (-128..127). */
export type LambdaKafkaHeader = Record<string, number[]>;

/** One record of the event, as AWS delivers it. */
export interface LambdaKafkaRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: 'CREATE_TIME' | 'LOG_APPEND_TIME';
  /** Base64; absent when the record has no key (AWS omits the field). */
  key?: string;
  /** Base64; absent for a tombstone (null value). */
  value?: string;
  headers: LambdaKafkaHeader[];
}

/** The records of one event, grouped by `<topic>-<partition>` in offset order. */
export type LambdaKafkaRecords = Record<string, LambdaKafkaRecord[]>;

/** The event of an Amazon MSK mapping (`msk` function event). */
export interface MskEvent {
  eventSource: 'aws:kafka';
  eventSourceArn: string;
  bootstrapServers: string;
  records: LambdaKafkaRecords;
}

/** The event of a self-managed Kafka mapping (`kafka` function event): no ARN exists for it. */
export interface SelfManagedKafkaEvent {
  eventSource: 'SelfManagedKafka';
  bootstrapServers: string;
  records: LambdaKafkaRecords;
}

/** Either event. */
export type LambdaKafkaEvent = MskEvent | SelfManagedKafkaEvent;

/** What the event says about where its records come from. */
export type EventSourceInfo =
  | { kind: 'msk'; eventSourceArn: string; bootstrapServers: string }
  | { kind: 'kafka'; bootstrapServers: string };

/** The key under which a record sits in `records`, and in the on-failure record's `recordsInfo`. */
export const topicPartitionKey = (topic: string, partition: number): string => `${topic}-${partition}`;

/** The number of bytes of `value` serialized as JSON (UTF-8), as it travels in the invoke request. */
export const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

// Java's byte is signed, and AWS serializes header values from it: "ë" arrives as [-61, -85].
const toSignedBytes = (bytes: Buffer): number[] => Array.from(bytes, (b) => (b > 127 ? b - 256 : b));

const headerBytes = (value: Buffer | string): Buffer =>
  typeof value === 'string' ? Buffer.from(value, 'utf8') : value;

/**
 * kafkajs folds repeated header names into an array; AWS lists each occurrence as its own object, so
 * the array is unfolded again (order within a name is kept; interleaving across names is not known).
 */
export function toLambdaHeaders(headers: IHeaders | undefined): LambdaKafkaHeader[] {
  if (headers === undefined) return [];
  const out: LambdaKafkaHeader[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      out.push({ [name]: toSignedBytes(headerBytes(one)) });
    }
  }
  return out;
}

// kafkajs decodes the batch's timestamp type (attribute bit 3) into `batchContext`, which its type
// declarations leave out; absent (old message sets) means the producer's create time.
function timestampTypeOf(message: KafkaMessage): LambdaKafkaRecord['timestampType'] {
  const context: unknown = (message as { batchContext?: unknown }).batchContext;
  if (typeof context === 'object' && context !== null && 'timestampType' in context) {
    return context.timestampType === 1 ? 'LOG_APPEND_TIME' : 'CREATE_TIME';
  }
  return 'CREATE_TIME';
}

/** One kafkajs message as a record of the Lambda event. */
export function toLambdaRecord(topic: string, partition: number, message: KafkaMessage): LambdaKafkaRecord {
  // Field order as in the AWS samples, so that serialized events read the same.
  return {
    topic,
    partition,
    offset: Number(message.offset),
    timestamp: Number(message.timestamp),
    timestampType: timestampTypeOf(message),
    ...(message.key === null ? {} : { key: message.key.toString('base64') }),
    ...(message.value === null ? {} : { value: message.value.toString('base64') }),
    headers: toLambdaHeaders(message.headers),
  };
}

/** The event without records: what every event of one mapping has in common. */
export function eventEnvelope(source: EventSourceInfo): LambdaKafkaEvent {
  return source.kind === 'msk'
    ? {
        eventSource: 'aws:kafka',
        eventSourceArn: source.eventSourceArn,
        bootstrapServers: source.bootstrapServers,
        records: {},
      }
    : { eventSource: 'SelfManagedKafka', bootstrapServers: source.bootstrapServers, records: {} };
}

/** The event for `records`, grouped by topic-partition in the order given (offset order per partition). */
export function buildEvent(source: EventSourceInfo, records: readonly LambdaKafkaRecord[]): LambdaKafkaEvent {
  const event = eventEnvelope(source);
  for (const record of records) {
    const key = topicPartitionKey(record.topic, record.partition);
    const group = event.records[key];
    if (group === undefined) event.records[key] = [record];
    else group.push(record);
  }
  return event;
}

/**
 * Sizes of the parts of a serialized event, so that a batch's size is known record by record without
 * serializing the whole event again: envelope + per group `"key":[` `]` + records + separating commas.
 */
export const eventSizes = {
  /** The event with no records (`"records":{}` included). */
  envelope: (source: EventSourceInfo): number => jsonBytes(eventEnvelope(source)),
  /** A group's own bytes: its quoted key, the colon and the brackets. */
  group: (key: string): number => jsonBytes(key) + 3,
  /** The comma between two groups or two records of a group. */
  separator: 1,
} as const;
