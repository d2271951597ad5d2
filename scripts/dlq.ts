/**
 * `npm run dlq -- list | replay [--reason <text>] [--limit N]`: the sink's dead-letter queue.
 *
 * `list` counts the poison records by reason without consuming them. `replay` puts records back on
 * the topic exactly as they were (key, value bytes and headers), then deletes them from the queue:
 * run it after fixing what made them poison (a schema registered late, a sink bug). Records that are
 * still poison simply come back to the queue. Defaults are the local stack's: its queue is a folder of
 * the local store (LocalStack keeps nothing across a restart); `--queue-url` names an SQS queue
 * instead, `--brokers` and `--topic` point it elsewhere (AWS credentials then come from the usual chain).
 */
import { parseArgs } from 'node:util';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Kafka, logLevel } from 'kafkajs';
import { listDeadLetters, replayDeadLetters } from '#functions/console/dead-letters.ts';
import { sqsQueue } from '#lib/message-queue.ts';
import { localQueue } from '#infra/stack/local-stage/clients.ts';
import { localResources } from '#infra/stack/local-stage/resources.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import { runMain } from './cli.ts';

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
  const queueUrl = values['queue-url'];
  const sqs = queueUrl === undefined ? undefined : new SQSClient({});
  const queue =
    sqs === undefined || queueUrl === undefined
      ? localQueue(localResources.deadLetterQueue)
      : sqsQueue(sqs, queueUrl);
  try {
    if (command === 'list') {
      const counts = await listDeadLetters(queue);
      if (counts.size === 0) process.stdout.write('the dead-letter queue is empty\n');
      for (const [reason, count] of counts) process.stdout.write(`${String(count).padStart(7)}  ${reason}\n`);
    } else if (command === 'replay') {
      const kafka = new Kafka({
        clientId: 'dlq-replay',
        brokers: values.brokers?.split(',') ?? [...endpoints.kafka.brokers],
        logLevel: logLevel.ERROR,
      });
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      try {
        const { replayed, kept } = await replayDeadLetters({
          queue,
          producer,
          ...(values.topic === undefined ? {} : { topic: values.topic }),
          ...(values.reason === undefined ? {} : { reasonFilter: values.reason }),
          ...(values.limit === undefined ? {} : { limit: Number(values.limit) }),
        });
        process.stdout.write(`replayed ${replayed} records; ${kept} left in the queue\n`);
      } finally {
        await producer.disconnect();
      }
    } else {
      process.stderr.write(`${USAGE}\n`);
      process.exitCode = 2;
    }
  } finally {
    sqs?.destroy();
  }
}

runMain('dlq', main, { usage: USAGE });
