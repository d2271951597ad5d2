import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { deadLetterOf, sendDeadLetters } from '#functions/sink/dead-letter.ts';
import { listDeadLetters, peekDeadLetters, replayDeadLetters } from '#functions/console/dead-letters.ts';
import { sqsQueue } from '#lib/message-queue.ts';
import { kafkaRecord } from '../fixtures/kafka-events.ts';
import { awsClients, createTopic, kafkaClient, unique } from '../support/clients.ts';
import { readTopicFrom, topicEnds } from '../support/stream.ts';

// The SQS implementation, the one the aws stage uses (the local stage's folder: tests/unit/lib/message-queue.test.ts).
describe('the dead-letter queue on SQS, as npm run dlq and the console read it', () => {
  const { sqs } = awsClients();
  const kafka = kafkaClient('dlq-itest');

  afterAll(() => {
    sqs.destroy();
  });

  it('lists letters by reason, and replays the chosen ones to the topic byte for byte, keeping the rest', async () => {
    const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: unique('dlq-tool') }));
    const queue = sqsQueue(sqs, QueueUrl);
    const topic = unique('dlq-replay');
    await createTopic(kafka, topic, 2);
    const failedAt = new Date();
    const letter = (
      key: string,
      value: Buffer,
      offset: number,
      reason: string,
      headers: Record<string, number[]>[] = [],
    ) => deadLetterOf(kafkaRecord({ key, value, offset, headers }), reason, failedAt);
    await sendDeadLetters(queue, [
      letter('k1', Buffer.from([0, 0, 0, 0, 42, 1, 2, 3]), 1, 'unknown schema id 42', [
        { 'event-id': [-61, -85] },
      ]),
      letter('k2', Buffer.from([0, 0, 0, 0, 42, 4, 5]), 2, 'unknown schema id 42'),
      letter('k3', Buffer.from('garbage'), 3, 'undecodable: not in the Confluent wire format'),
    ]);

    expect(await listDeadLetters(queue)).toEqual(
      new Map([
        ['unknown schema id 42', 2],
        ['undecodable: not in the Confluent wire format', 1],
      ]),
    );

    // The console's peek: counts and summaries (no value bytes), the letters left where they were.
    const peeked = await peekDeadLetters(queue, 2);
    expect(peeked.truncated).toBe(true);
    expect([...peeked.byReason.values()].reduce((a, b) => a + b, 0)).toBe(2);
    const all = await peekDeadLetters(queue, 50);
    expect(all.truncated).toBe(false);
    expect(all.latest.map((l) => l.key).sort()).toEqual(['k1', 'k2', 'k3']);
    expect(all.latest[0]).toEqual({
      topic: expect.any(String) as unknown,
      partition: expect.any(Number) as unknown,
      offset: expect.any(Number) as unknown,
      reason: expect.any(String) as unknown,
      key: expect.any(String) as unknown,
      failedAt: failedAt.toISOString(),
    });

    const from = await topicEnds(kafka, topic);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const result = await replayDeadLetters({
      queue,
      producer,
      topic,
      reasonFilter: 'unknown schema id',
    }).finally(() => producer.disconnect());
    expect(result).toEqual({ replayed: 2, kept: 1 });
    const replayed = await readTopicFrom(kafka, topic, from, () => true, 2);
    const byKey = new Map(replayed.map((m) => [String(m.key), m]));
    expect([...(byKey.get('k1')?.value ?? [])]).toEqual([0, 0, 0, 0, 42, 1, 2, 3]);
    expect([...(byKey.get('k1')?.headers?.['event-id'] as Buffer)]).toEqual([0xc3, 0xab]);
    expect([...(byKey.get('k2')?.value ?? [])]).toEqual([0, 0, 0, 0, 42, 4, 5]);

    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(
      Number(Attributes?.ApproximateNumberOfMessages) +
        Number(Attributes?.ApproximateNumberOfMessagesNotVisible),
    ).toBe(1);
  });
});
