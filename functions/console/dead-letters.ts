/**
 * The sink's dead-letter queue, read and replayed: `npm run dlq` and the console share this. Reading
 * never consumes: letters are received, then made visible again at once.
 */
import type { IHeaders, Message, Producer } from 'kafkajs';
import type { MessageQueue, QueueMessage } from '#lib/message-queue.ts';
import { DeadLetter } from '#functions/sink/dead-letter.ts';
import type { DeadLetterSummary } from './api.ts';

/** How a message that is not one of the sink's letters is counted. */
const NOT_A_LETTER = '(not a dead letter of the sink)';

interface Received {
  readonly message: QueueMessage;
  readonly letter: DeadLetter | undefined;
}

/** The JSON of a message's body, or undefined when it is not JSON. */
function bodyOf(message: QueueMessage): unknown {
  try {
    return JSON.parse(message.body);
  } catch {
    return undefined;
  }
}

/** Receives up to `limit` messages, each parsed as a dead letter where it is one. */
async function receiveAll(queue: MessageQueue, hideSeconds: number, limit: number): Promise<Received[]> {
  const messages = await queue.receive(limit, hideSeconds);
  return messages.map((message) => {
    const parsed = DeadLetter.safeParse(bodyOf(message));
    return { message, letter: parsed.success ? parsed.data : undefined };
  });
}

/**
 * Up to `limit` messages of any queue as parsed JSON, left in the queue (invisible only while they
 * are read): the console reads the failed-batches queue this way.
 */
export async function peekMessages(queue: MessageQueue, limit: number): Promise<unknown[]> {
  const messages = await queue.receive(limit, 30);
  await queue.release(messages);
  return messages.map(bodyOf);
}

/** The Kafka message of a dead letter: the original key, value bytes and headers (bytes are signed). */
export function messageOf(letter: DeadLetter): Message {
  const headers: IHeaders = {};
  for (const header of letter.headers) {
    for (const [name, bytes] of Object.entries(header))
      headers[name] = Buffer.from(bytes.map((b) => b & 0xff));
  }
  return {
    key: letter.key === null ? null : Buffer.from(letter.key, 'base64'),
    value: letter.value === null ? null : Buffer.from(letter.value, 'base64'),
    headers,
  };
}

/** Counts the queue's letters by reason, leaving them in the queue. */
export async function listDeadLetters(queue: MessageQueue): Promise<Map<string, number>> {
  // Invisible long enough for a large queue to be read through once, then released at once.
  const received = await receiveAll(queue, 300, Number.POSITIVE_INFINITY);
  await queue.release(received.map((r) => r.message));
  const counts = new Map<string, number>();
  for (const { letter } of received) {
    const reason = letter?.reason ?? NOT_A_LETTER;
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return counts;
}

/**
 * Replays letters whose reason contains `reasonFilter` to `topic` (their own topic when unset), then
 * deletes them from the queue: a letter is deleted only after the broker acknowledged it. Letters
 * whose value was too large to keep, or that do not match, stay in the queue.
 */
export async function replayDeadLetters(options: {
  queue: MessageQueue;
  /** An idempotent producer, connected: the caller owns it. */
  producer: Pick<Producer, 'sendBatch'>;
  topic?: string;
  /** Letters whose reason contains this text (`npm run dlq -- replay --reason`). */
  reasonFilter?: string;
  /** Letters whose reason is exactly this (the console's replay of one reason it listed). */
  reasonEquals?: string;
  limit?: number;
}): Promise<{ replayed: number; kept: number }> {
  const { queue, producer } = options;
  const received = await receiveAll(queue, 300, options.limit ?? Number.POSITIVE_INFINITY);
  const matches = (reason: string): boolean =>
    (options.reasonFilter === undefined || reason.includes(options.reasonFilter)) &&
    (options.reasonEquals === undefined || reason === options.reasonEquals);
  const chosen = received.flatMap((r) =>
    r.letter !== undefined && r.letter.valueOmittedBytes === undefined && matches(r.letter.reason)
      ? [{ message: r.message, letter: r.letter }]
      : [],
  );
  const kept = received.filter((r) => !chosen.some((c) => c.message === r.message));
  await queue.release(kept.map((r) => r.message));
  for (let i = 0; i < chosen.length; i += 10) {
    const slice = chosen.slice(i, i + 10);
    await producer.sendBatch({
      acks: -1,
      topicMessages: slice.map(({ letter }) => ({
        topic: options.topic ?? letter.topic,
        messages: [messageOf(letter)],
      })),
    });
    try {
      await queue.delete(slice.map((r) => r.message));
    } catch (error) {
      throw new Error('replayed, but could not delete every letter: they will come back', { cause: error });
    }
  }
  return { replayed: chosen.length, kept: kept.length };
}

/** A record key for a person: its text when printable, else its base64. */
function keyText(base64: string | null): string | null {
  if (base64 === null) return null;
  const text = Buffer.from(base64, 'base64').toString('utf8');
  // eslint-disable-next-line no-control-regex -- control characters are what makes a key unprintable
  return /^[^\u0000-\u001f\u007f\ufffd]*$/.test(text) ? text : base64;
}

/** A letter as the console lists it: where it was and why, never its value. */
export function summaryOf(letter: DeadLetter): DeadLetterSummary {
  return {
    topic: letter.topic,
    partition: letter.partition,
    offset: letter.offset,
    reason: letter.reason,
    key: keyText(letter.key),
    failedAt: letter.failedAt,
  };
}

/**
 * Up to `limit` letters, counted by reason and listed newest first, left in the queue. `truncated`
 * when the queue may hold more than were read.
 */
export async function peekDeadLetters(
  queue: MessageQueue,
  limit: number,
): Promise<{ byReason: Map<string, number>; latest: DeadLetterSummary[]; truncated: boolean }> {
  // Invisible only while they are read (a second or two), then released at once.
  const received = await receiveAll(queue, 30, limit + 1);
  await queue.release(received.map((r) => r.message));
  const read = received.slice(0, limit);
  const byReason = new Map<string, number>();
  for (const { letter } of read) {
    const reason = letter?.reason ?? NOT_A_LETTER;
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
  }
  const latest = read
    .flatMap(({ letter }) => (letter === undefined ? [] : [summaryOf(letter)]))
    .sort((a, b) => b.failedAt.localeCompare(a.failedAt));
  return { byReason, latest, truncated: received.length > limit };
}
