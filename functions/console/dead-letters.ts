/**
 * The sink's dead-letter queue, read and replayed: `npm run dlq` and the console share this. Reading
 * never consumes: letters are received, then made visible again at once.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type SQSClient,
  type Message as SqsMessage,
} from '@aws-sdk/client-sqs';
import type { IHeaders, Message, Producer } from 'kafkajs';
import { DeadLetter } from '#functions/sink/dead-letter.ts';
import type { DeadLetterSummary } from './api.ts';

type Sqs = Pick<SQSClient, 'send'>;

/** How a message that is not one of the sink's letters is counted. */
const NOT_A_LETTER = '(not a dead letter of the sink)';

interface Received {
  readonly message: SqsMessage;
  readonly letter: DeadLetter | undefined;
}

/** Receives up to `limit` visible messages (each stays invisible for `visibilitySeconds`). */
async function receiveMessages(
  sqs: Sqs,
  queueUrl: string,
  visibilitySeconds: number,
  limit: number,
): Promise<SqsMessage[]> {
  const received: SqsMessage[] = [];
  while (received.length < limit) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: visibilitySeconds,
      }),
    );
    if (Messages.length === 0) break;
    received.push(...Messages);
  }
  // A receive brings up to ten: give back what is over the limit.
  if (received.length > limit) await release(sqs, queueUrl, received.splice(limit));
  return received;
}

/** The JSON of a message's body, or undefined when it is not JSON. */
function bodyOf(message: SqsMessage): unknown {
  try {
    return JSON.parse(message.Body ?? '');
  } catch {
    return undefined;
  }
}

/** Receives up to `limit` messages, each parsed as a dead letter where it is one. */
async function receiveAll(
  sqs: Sqs,
  queueUrl: string,
  visibilitySeconds: number,
  limit: number,
): Promise<Received[]> {
  const messages = await receiveMessages(sqs, queueUrl, visibilitySeconds, limit);
  return messages.map((message) => {
    const parsed = DeadLetter.safeParse(bodyOf(message));
    return { message, letter: parsed.success ? parsed.data : undefined };
  });
}

/**
 * Up to `limit` messages of any queue as parsed JSON, left in the queue (invisible only while they
 * are read): the console reads the failed-batches queue this way.
 */
export async function peekMessages(sqs: Sqs, queueUrl: string, limit: number): Promise<unknown[]> {
  const messages = await receiveMessages(sqs, queueUrl, 30, limit);
  await release(sqs, queueUrl, messages);
  return messages.map(bodyOf);
}

/** Makes messages visible again at once (what `list` and skipped records need). */
async function release(sqs: Sqs, queueUrl: string, messages: readonly SqsMessage[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.slice(i, i + 10).map((m, index) => ({
          Id: String(index),
          ReceiptHandle: m.ReceiptHandle ?? '',
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
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
export async function listDeadLetters(sqs: Sqs, queueUrl: string): Promise<Map<string, number>> {
  // Invisible long enough for a large queue to be read through once, then released at once.
  const received = await receiveAll(sqs, queueUrl, 300, Number.POSITIVE_INFINITY);
  await release(
    sqs,
    queueUrl,
    received.map((r) => r.message),
  );
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
  sqs: Sqs;
  queueUrl: string;
  /** An idempotent producer, connected: the caller owns it. */
  producer: Pick<Producer, 'sendBatch'>;
  topic?: string;
  /** Letters whose reason contains this text (`npm run dlq -- replay --reason`). */
  reasonFilter?: string;
  /** Letters whose reason is exactly this (the console's replay of one reason it listed). */
  reasonEquals?: string;
  limit?: number;
}): Promise<{ replayed: number; kept: number }> {
  const { sqs, queueUrl, producer } = options;
  const received = await receiveAll(sqs, queueUrl, 300, options.limit ?? Number.POSITIVE_INFINITY);
  const matches = (reason: string): boolean =>
    (options.reasonFilter === undefined || reason.includes(options.reasonFilter)) &&
    (options.reasonEquals === undefined || reason === options.reasonEquals);
  const chosen = received.flatMap((r) =>
    r.letter !== undefined && r.letter.valueOmittedBytes === undefined && matches(r.letter.reason)
      ? [{ message: r.message, letter: r.letter }]
      : [],
  );
  const kept = received.filter((r) => !chosen.some((c) => c.message === r.message));
  await release(
    sqs,
    queueUrl,
    kept.map((r) => r.message),
  );
  for (let i = 0; i < chosen.length; i += 10) {
    const slice = chosen.slice(i, i + 10);
    await producer.sendBatch({
      acks: -1,
      topicMessages: slice.map(({ letter }) => ({
        topic: options.topic ?? letter.topic,
        messages: [messageOf(letter)],
      })),
    });
    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: slice.map((r, index) => ({
          Id: String(index),
          ReceiptHandle: r.message.ReceiptHandle ?? '',
        })),
      }),
    );
    if ((deleted.Failed?.length ?? 0) > 0) {
      throw new Error(
        `replayed, but could not delete ${deleted.Failed?.length ?? 0} letters: they will come back`,
      );
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
  sqs: Sqs,
  queueUrl: string,
  limit: number,
): Promise<{ byReason: Map<string, number>; latest: DeadLetterSummary[]; truncated: boolean }> {
  // Invisible only while they are read (a second or two), then released at once.
  const received = await receiveAll(sqs, queueUrl, 30, limit + 1);
  await release(
    sqs,
    queueUrl,
    received.map((r) => r.message),
  );
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
