/**
 * The open batch of one mapping: records from every partition of the topic accumulate until AWS's
 * three limits say the batch is ready (batchSize records, the 6 MB payload, or the batching window
 * since the first record). The serialized size is kept exact record by record. Pure: the clock is
 * passed in.
 */
import { eventSizes, topicPartitionKey } from './event-builder.ts';
import type { LambdaKafkaRecord } from './event-builder.ts';

/** The three limits of a batch. */
export interface BatchLimits {
  /** Records per event, 1..10000. */
  batchSize: number;
  /** Bytes of the serialized event. */
  maxBytes: number;
  /** Milliseconds from the first record until the batch is due whatever its size. */
  windowMs: number;
}

/** A record with the size of its own JSON, measured once when it is read from Kafka. */
export interface SizedRecord {
  record: LambdaKafkaRecord;
  bytes: number;
}

/** First and last record of one topic-partition within a batch. */
export interface PartitionRange {
  first: LambdaKafkaRecord;
  last: LambdaKafkaRecord;
}

/** A batch taken out of the batcher, ready to be invoked. */
export interface SealedBatch {
  records: LambdaKafkaRecord[];
  /** The exact byte length of the event built from these records. */
  payloadBytes: number;
  /** Keyed by `<topic>-<partition>`, in first-seen order. */
  partitions: Map<string, PartitionRange>;
}

/** Accumulates records into one batch; see the module comment. */
export class Batcher {
  readonly #limits: BatchLimits;
  readonly #envelopeBytes: number;
  #records: LambdaKafkaRecord[] = [];
  #partitions = new Map<string, PartitionRange>();
  #bytes: number;
  #openedAt: number | undefined;

  /** `envelopeBytes` is the size of the mapping's event with no records (see `eventSizes.envelope`). */
  constructor(limits: BatchLimits, envelopeBytes: number) {
    this.#limits = limits;
    this.#envelopeBytes = envelopeBytes;
    this.#bytes = envelopeBytes;
  }

  /** Records in the open batch. */
  get count(): number {
    return this.#records.length;
  }

  /** Exact serialized size of the event the open batch would make. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether the open batch has no record. */
  get isEmpty(): boolean {
    return this.#records.length === 0;
  }

  /** Whether the batch has reached batchSize (it cannot take another record). */
  get isFull(): boolean {
    return this.#records.length >= this.#limits.batchSize;
  }

  /** The size of an event holding this record alone: above maxBytes, it can never be delivered. */
  aloneBytes(item: SizedRecord): number {
    const key = topicPartitionKey(item.record.topic, item.record.partition);
    return this.#envelopeBytes + eventSizes.group(key) + item.bytes;
  }

  /** Whether this record alone exceeds the payload limit. */
  isOversize(item: SizedRecord): boolean {
    return this.aloneBytes(item) > this.#limits.maxBytes;
  }

  /** The size of the event if `item` were added. */
  bytesWith(item: SizedRecord): number {
    const key = topicPartitionKey(item.record.topic, item.record.partition);
    if (this.#partitions.has(key)) return this.#bytes + eventSizes.separator + item.bytes;
    const groupSeparator = this.#partitions.size > 0 ? eventSizes.separator : 0;
    return this.#bytes + groupSeparator + eventSizes.group(key) + item.bytes;
  }

  /** Whether `item` can join the open batch without breaking batchSize or the payload limit. */
  fits(item: SizedRecord): boolean {
    return !this.isFull && this.bytesWith(item) <= this.#limits.maxBytes;
  }

  /**
   * Adds a record; the caller checks `fits` first (and seals the batch when it does not). `now` opens
   * the batching window when this is the first record.
   */
  add(item: SizedRecord, now: number): void {
    if (!this.fits(item)) {
      throw new Error(
        `record ${item.record.topic}-${item.record.partition}@${item.record.offset} does not fit`,
      );
    }
    this.#bytes = this.bytesWith(item);
    const key = topicPartitionKey(item.record.topic, item.record.partition);
    const range = this.#partitions.get(key);
    if (range === undefined) this.#partitions.set(key, { first: item.record, last: item.record });
    else range.last = item.record;
    this.#records.push(item.record);
    this.#openedAt ??= now;
  }

  /** Milliseconds until the open batch is due (0 when due now); undefined when empty. */
  dueIn(now: number): number | undefined {
    if (this.#openedAt === undefined) return undefined;
    if (this.isFull) return 0;
    return Math.max(0, this.#openedAt + this.#limits.windowMs - now);
  }

  /** Takes the open batch out and starts a new, empty one. */
  seal(): SealedBatch {
    const sealed: SealedBatch = {
      records: this.#records,
      payloadBytes: this.#bytes,
      partitions: this.#partitions,
    };
    this.#records = [];
    this.#partitions = new Map();
    this.#bytes = this.#envelopeBytes;
    this.#openedAt = undefined;
    return sealed;
  }
}
