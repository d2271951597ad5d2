import { z } from 'zod';
import { TransientError } from '#lib/errors.ts';
import type { MessageQueue } from '#lib/message-queue.ts';
import { KafkaRecord } from './kafka-event.ts';

/**
 * A poison record as the dead-letter queue holds it: where it was, why it failed, its original
 * bytes. The sink writes it; `npm run dlq` parses it back with this same schema.
 */
export const DeadLetter = z.object({
  topic: z.string(),
  partition: z.number().int(),
  offset: z.number().int(),
  timestamp: z.number(),
  reason: z.string(),
  /** The record's key and value as delivered (base64), so a fixed sink can replay them unchanged. */
  key: z.string().nullable(),
  value: z.string().nullable(),
  headers: KafkaRecord.shape.headers,
  failedAt: z.string(),
  /** Set when the value alone would overflow an SQS message (256 KiB); its size is kept instead. */
  valueOmittedBytes: z.number().int().optional(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;

/** SQS's message size limit, less room for the JSON around the record. */
const MAX_BODY_BYTES = 240 * 1024;

/** The longest reason a dead letter keeps: enough to act on, short enough to group and to log. */
export const MAX_REASON_CHARS = 500;

/** `reason`, cut to MAX_REASON_CHARS (an ellipsis marks the cut). */
export function boundedReason(reason: string): string {
  return reason.length <= MAX_REASON_CHARS ? reason : `${reason.slice(0, MAX_REASON_CHARS - 1)}…`;
}

/** The dead letter of a poison record; its reason is bounded (boundedReason). */
export function deadLetterOf(record: KafkaRecord, reason: string, failedAt: Date): DeadLetter {
  const letter: DeadLetter = {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    reason: boundedReason(reason),
    key: record.key ?? null,
    value: record.value ?? null,
    headers: record.headers,
    failedAt: failedAt.toISOString(),
  };
  if (Buffer.byteLength(JSON.stringify(letter)) <= MAX_BODY_BYTES) return letter;
  return { ...letter, value: null, valueOmittedBytes: Buffer.from(record.value ?? '', 'base64').length };
}

/** SQS's limit on a whole SendMessageBatch request (the sum of its bodies), less attribute room. */
const MAX_BATCH_BYTES = 250 * 1024;

/** Dead letters in groups SQS accepts in one request: at most ten, at most 250 KiB together. */
export function sqsBatches(letters: readonly DeadLetter[]): DeadLetter[][] {
  const batches: DeadLetter[][] = [];
  let current: DeadLetter[] = [];
  let bytes = 0;
  for (const letter of letters) {
    const size = Buffer.byteLength(JSON.stringify(letter)) + 1024;
    if (current.length > 0 && (current.length === 10 || bytes + size > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(letter);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Sends dead letters to the queue, in requests SQS accepts (ten letters, 256 KiB at most). Every entry must be
 * accepted: otherwise a TransientError makes the whole Kafka batch retry (its writes are idempotent;
 * the letters that did arrive may then arrive twice, which a replay tolerates: it upserts).
 */
export async function sendDeadLetters(queue: MessageQueue, letters: readonly DeadLetter[]): Promise<void> {
  for (const chunk of sqsBatches(letters)) {
    try {
      await queue.send(
        chunk.map((letter) => ({
          body: JSON.stringify(letter),
          attributes: { topic: letter.topic, reason: letter.reason.slice(0, 256) },
        })),
      );
    } catch (error) {
      throw new TransientError('the dead-letter queue is unavailable or refused records', { cause: error });
    }
  }
}
