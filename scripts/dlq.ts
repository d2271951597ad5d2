/**
 * `npm run dlq -- list | replay [--reason <text>] [--limit N]`: the sink's dead-letter queue.
 *
 * `list` counts the poison records by reason without consuming them. `replay` puts records back on
 * the topic exactly as they were (key, value bytes and headers), then deletes them from the queue:
 * run it after fixing what made them poison (a schema registered late, a sink bug). Records that are
 * still poison simply come back to the queue. Defaults are the local stack's; `--queue-url`,
 * `--brokers` and `--topic` point it elsewhere (AWS credentials then come from the usual chain).
 */
import { parseArgs } from 'node:util';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message as SqsMessage,
} from '@aws-sdk/client-sqs';
import { Kafka, logLevel, type IHeaders, type Message } from 'kafkajs';
import { DeadLetter } from '#functions/sink/dead-letter.ts';
import { localQueueUrl } from '#infra/stack/local-stage/resources.ts';
import { localAwsConfig } from '#infra/stack/local-stage/clients.ts';
import { localResources } from '#infra/stack/local-stage/resources.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import { runMain } from './cli.ts';

interface Received {
  readonly message: SqsMessage;
  readonly letter: DeadLetter | undefined;
}

/** Receives every visible message (each stays invisible for `visibilitySeconds`). */
async function receiveAll(
  sqs: SQSClient,
  queueUrl: string,
  visibilitySeconds: number,
  limit: number,
): Promise<Received[]> {
  const received: Received[] = [];
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
    for (const message of Messages) {
      let body: unknown;
      try {
        body = JSON.parse(message.Body ?? '');
      } catch {
        body = undefined;
      }
      const parsed = DeadLetter.safeParse(body);
      received.push({ message, letter: parsed.success ? parsed.data : undefined });
    }
  }
  // A receive brings up to ten: give back what is over the limit.
  if (received.length > limit) {
    await release(
      sqs,
      queueUrl,
      received.splice(limit).map((r) => r.message),
    );
  }
  return received;
}

/** Makes messages visible again at once (what `list` and skipped records need). */
async function release(sqs: SQSClient, queueUrl: string, messages: readonly SqsMessage[]): Promise<void> {
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
export async function listDeadLetters(sqs: SQSClient, queueUrl: string): Promise<Map<string, number>> {
  // Invisible long enough for a large queue to be read through once, then released at once.
  const received = await receiveAll(sqs, queueUrl, 300, Number.POSITIVE_INFINITY);
  await release(
    sqs,
    queueUrl,
    received.map((r) => r.message),
  );
  const counts = new Map<string, number>();
  for (const { letter } of received) {
    const reason = letter?.reason ?? '(not a dead letter of the sink)';
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
  sqs: SQSClient;
  queueUrl: string;
  kafka: Kafka;
  topic?: string;
  reasonFilter?: string;
  limit?: number;
}): Promise<{ replayed: number; kept: number }> {
  const { sqs, queueUrl } = options;
  const received = await receiveAll(sqs, queueUrl, 300, options.limit ?? Number.POSITIVE_INFINITY);
  const chosen = received.filter(
    (r) =>
      r.letter !== undefined &&
      r.letter.valueOmittedBytes === undefined &&
      (options.reasonFilter === undefined || r.letter.reason.includes(options.reasonFilter)),
  );
  const kept = received.filter((r) => !chosen.includes(r));
  await release(
    sqs,
    queueUrl,
    kept.map((r) => r.message),
  );
  const producer = options.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < chosen.length; i += 10) {
      const slice = chosen.slice(i, i + 10);
      await producer.sendBatch({
        acks: -1,
        topicMessages: slice.map(({ letter }) => ({
          topic: options.topic ?? letter?.topic ?? '',
          messages: letter === undefined ? [] : [messageOf(letter)],
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
  } finally {
    await producer.disconnect();
  }
  return { replayed: chosen.length, kept: kept.length };
}

const USAGE =
  'usage: npm run dlq -- list | replay [--reason <text>] [--limit N] [--queue-url URL] [--brokers B,…] [--topic T]';

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      reason: { type: 'string' },
      limit: { type: 'string' },
      'queue-url': { type: 'string' },
      brokers: { type: 'string' },
      topic: { type: 'string' },
    },
  });
  const command = positionals[0];
  const queueUrl = values['queue-url'] ?? localQueueUrl(localResources.deadLetterQueue);
  const local = values['queue-url'] === undefined;
  const sqs = new SQSClient(local ? localAwsConfig : {});
  try {
    if (command === 'list') {
      const counts = await listDeadLetters(sqs, queueUrl);
      if (counts.size === 0) process.stdout.write('the dead-letter queue is empty\n');
      for (const [reason, count] of counts) process.stdout.write(`${String(count).padStart(7)}  ${reason}\n`);
    } else if (command === 'replay') {
      const kafka = new Kafka({
        clientId: 'dlq-replay',
        brokers: values.brokers?.split(',') ?? [...endpoints.kafka.brokers],
        logLevel: logLevel.ERROR,
      });
      const { replayed, kept } = await replayDeadLetters({
        sqs,
        queueUrl,
        kafka,
        ...(values.topic === undefined ? {} : { topic: values.topic }),
        ...(values.reason === undefined ? {} : { reasonFilter: values.reason }),
        ...(values.limit === undefined ? {} : { limit: Number(values.limit) }),
      });
      process.stdout.write(`replayed ${replayed} records; ${kept} left in the queue\n`);
    } else {
      process.stderr.write(`${USAGE}\n`);
      process.exitCode = 2;
    }
  } finally {
    sqs.destroy();
  }
}

if (process.argv[1]?.endsWith('dlq.ts') === true) {
  runMain('dlq', main, { usage: USAGE });
}
