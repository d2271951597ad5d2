import { setTimeout as sleep } from 'node:timers/promises';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Kafka } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LambdaKafkaEvent, LambdaKafkaRecord } from '#plugin/event-builder.ts';
import type { KafkaPoller } from '#plugin/poller.ts';
import { createTopic, kafkaClient, produce, sqsClient } from './broker.ts';
import { startFakeLambda } from './fake-lambda.ts';
import type { FakeLambda } from './fake-lambda.ts';
import {
  committedOffsets,
  createQueue,
  deleteQueue,
  fresh,
  kafkaMapping,
  poller,
  receiveFailureRecords,
  recordsOf,
  testLog,
  valueOf,
  waitFor,
} from './support.ts';
import type { TestLog } from './support.ts';

/** The event-source mapping's poller against the local Kafka, a fake Lambda endpoint and LocalStack SQS. */
describe('serverless-offline-kafka poller', () => {
  let kafka: Kafka;
  let fake: FakeLambda;
  let sqs: SQSClient;
  let log: TestLog;
  const running: KafkaPoller[] = [];
  const queues: string[] = [];

  beforeAll(async () => {
    kafka = kafkaClient('offline-kafka-test');
    fake = await startFakeLambda();
    sqs = sqsClient();
  });

  afterEach(async (context) => {
    await Promise.all(running.splice(0).map((p) => p.stop()));
    if (context.task.result?.state === 'fail') {
      process.stdout.write(log.lines.map((l) => `  [${l.level}] ${l.message}\n`).join(''));
    }
  });

  afterAll(async () => {
    await Promise.all(queues.map((url) => deleteQueue(sqs, url)));
    sqs.destroy();
    await fake.close();
  });

  const start = async (p: KafkaPoller): Promise<KafkaPoller> => {
    running.push(p);
    await p.start();
    return p;
  };

  const stop = async (p: KafkaPoller): Promise<void> => {
    running.splice(running.indexOf(p), 1);
    await p.stop();
  };

  const eventsOf = (functionName: string): LambdaKafkaEvent[] => fake.received.get(functionName) ?? [];

  /** Offsets per partition, in delivery order. */
  const offsetsByPartition = (records: readonly LambdaKafkaRecord[]): Map<number, number[]> => {
    const byPartition = new Map<number, number[]>();
    for (const r of records)
      byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r.offset]);
    return byPartition;
  };

  const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

  it('delivers every record once, grouped by topic-partition, in offset order per partition', async () => {
    log = testLog();
    const topic = fresh('okafka');
    await createTopic(kafka, topic, 3);
    const sent = range(90).map((i) => ({ key: `user-${i}`, value: `value-${i}` }));
    await produce(kafka, topic, sent.slice(0, 45));
    const mapping = kafkaMapping({ functionName: fresh('fn'), topic });
    fake.setHandler(mapping.functionName, () => null);

    await start(poller(mapping, fake, log));
    await produce(kafka, topic, sent.slice(45));
    await waitFor('90 records', () => recordsOf(eventsOf(mapping.functionName)).length >= 90);
    await sleep(1_500); // a duplicate would arrive in this time
    const events = eventsOf(mapping.functionName);
    const records = recordsOf(events);

    expect(records.map(valueOf).sort()).toEqual(sent.map((s) => s.value).sort());
    for (const record of records) {
      const key = Buffer.from(record.key ?? '', 'base64').toString();
      expect(key.replace('user-', 'value-'), `key of offset ${record.offset}`).toBe(valueOf(record));
      expect(record.topic).toBe(topic);
      expect(record.timestampType).toBe('CREATE_TIME');
      expect(record.headers).toEqual([]);
    }
    for (const event of events) {
      expect(event.eventSource).toBe('SelfManagedKafka');
      expect(event.bootstrapServers).toBe('127.0.0.1:9092');
      for (const [key, group] of Object.entries(event.records)) {
        for (const r of group) expect(`${r.topic}-${r.partition}`).toBe(key);
      }
    }
    const byPartition = offsetsByPartition(records);
    expect([...byPartition.keys()].sort()).toEqual([0, 1, 2]);
    for (const [partition, offsets] of byPartition) {
      expect(offsets, `partition ${partition}`).toEqual(range(offsets.length));
    }
    // The records waiting at start come from all partitions: at least one event mixes partitions.
    expect(events.some((e) => Object.keys(e.records).length > 1)).toBe(true);
    await waitFor('offsets committed', async () => {
      const committed = await committedOffsets(kafka, mapping.consumerGroupId, topic);
      return [...byPartition].every(([p, offsets]) => committed.get(p) === String(offsets.length));
    });
  });

  it('honours batchSize', async () => {
    log = testLog();
    const topic = fresh('okafka');
    await createTopic(kafka, topic, 2);
    await produce(
      kafka,
      topic,
      range(30).map((i) => ({ key: `k${i}`, value: `v${i}` })),
    );
    const mapping = kafkaMapping({ functionName: fresh('fn'), topic, event: { batchSize: 7 } });
    fake.setHandler(mapping.functionName, () => null);

    await start(poller(mapping, fake, log));
    await waitFor('30 records', () => recordsOf(eventsOf(mapping.functionName)).length >= 30);
    const sizes = eventsOf(mapping.functionName).map((e) => recordsOf([e]).length);
    expect(Math.max(...sizes)).toBe(7);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(30);
    expect(sizes.filter((n) => n === 7).length).toBeGreaterThanOrEqual(3);
  });

  it('retries a failing batch, sends the AWS on-failure record to SQS, then goes on', async () => {
    log = testLog();
    const topic = fresh('okafka');
    await createTopic(kafka, topic, 1);
    const queue = await createQueue(sqs, fresh('okafka-dlq'));
    queues.push(queue.url);
    const mapping = kafkaMapping({
      functionName: fresh('fn'),
      topic,
      event: { onFailureDestination: queue.arn },
      plugin: { maximumRetryAttempts: 2 },
    });
    fake.setHandler(mapping.functionName, (event) => {
      if (recordsOf([event]).some((r) => valueOf(r) === 'poison')) throw new Error('cannot digest poison');
      return null;
    });

    await start(poller(mapping, fake, log));
    await produce(kafka, topic, [{ key: 'p', value: 'poison' }]);
    const [failure] = await receiveFailureRecords(sqs, queue.url, 1);
    const attempts = eventsOf(mapping.functionName);
    expect(attempts).toHaveLength(3);
    const poison = recordsOf(attempts)[0];
    expect(failure).toEqual({
      requestContext: {
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
        functionArn: `arn:aws:lambda:us-east-1:000000000000:function:${mapping.functionName}`,
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as unknown,
      KafkaBatchInfo: {
        batchSize: 1,
        bootstrapServers: '127.0.0.1:9092',
        payloadSize: fake.bodyBytes.get(mapping.functionName)?.[0],
        recordsInfo: {
          [`${topic}-0`]: {
            firstRecordOffset: '0',
            lastRecordOffset: '0',
            firstRecordTimestamp: new Date(poison?.timestamp ?? 0).toISOString(),
            lastRecordTimestamp: new Date(poison?.timestamp ?? 0).toISOString(),
          },
        },
      },
    });

    await produce(kafka, topic, [
      { key: 'a', value: 'after-1' },
      { key: 'b', value: 'after-2' },
    ]);
    await waitFor('the later records', () =>
      recordsOf(eventsOf(mapping.functionName)).some((r) => valueOf(r) === 'after-2'),
    );
    const later = recordsOf(eventsOf(mapping.functionName).slice(3));
    expect(later.map((r) => [r.offset, valueOf(r)])).toEqual([
      [1, 'after-1'],
      [2, 'after-2'],
    ]);
    await waitFor('offset 3 committed', async () => {
      return (await committedOffsets(kafka, mapping.consumerGroupId, topic)).get(0) === '3';
    });
  });

  it('sends a record too large for any event to SQS without invoking, then goes on', async () => {
    log = testLog();
    const topic = fresh('okafka');
    await createTopic(kafka, topic, 1);
    const queue = await createQueue(sqs, fresh('okafka-dlq'));
    queues.push(queue.url);
    // The 6 MB limit cannot be reached through a broker with a 1 MB message limit; a lower limit
    // takes the same path.
    const mapping = {
      ...kafkaMapping({ functionName: fresh('fn'), topic, event: { onFailureDestination: queue.arn } }),
      maxPayloadBytes: 2_000,
    };
    fake.setHandler(mapping.functionName, () => null);

    await start(poller(mapping, fake, log));
    await produce(kafka, topic, [
      { key: 'big', value: 'x'.repeat(3_000) },
      { key: 'small', value: 'fits' },
    ]);
    const [failure] = await receiveFailureRecords(sqs, queue.url, 1);
    expect(failure?.requestContext).toMatchObject({
      condition: 'MaximumPayloadSizeExceeded',
      approximateInvokeCount: 0,
    });
    expect(failure?.responseContext).toBeNull();
    expect(failure?.KafkaBatchInfo.batchSize).toBe(1);
    expect(failure?.KafkaBatchInfo.payloadSize).toBeGreaterThan(4_000);
    expect(failure?.KafkaBatchInfo.recordsInfo[`${topic}-0`]?.firstRecordOffset).toBe('0');
    await waitFor('the small record', () => recordsOf(eventsOf(mapping.functionName)).length >= 1);
    expect(recordsOf(eventsOf(mapping.functionName)).map(valueOf)).toEqual(['fits']);
    await waitFor('offset 2 committed', async () => {
      return (await committedOffsets(kafka, mapping.consumerGroupId, topic)).get(0) === '2';
    });
  });

  it('commits only after success: records in flight when stopped are delivered again', async () => {
    log = testLog();
    const topic = fresh('okafka');
    await createTopic(kafka, topic, 2);
    await produce(
      kafka,
      topic,
      range(6).map((i) => ({ key: `k${i}`, value: `v${i}` })),
    );
    const mapping = kafkaMapping({ functionName: fresh('fn'), topic });
    let release: (() => void) | undefined;
    const hanging = new Promise<void>((resolve) => (release = resolve));
    fake.setHandler(mapping.functionName, () => hanging);

    const first = await start(poller(mapping, fake, log));
    await waitFor('an invocation in flight', () => eventsOf(mapping.functionName).length > 0);
    await stop(first);
    release?.();
    expect([...(await committedOffsets(kafka, mapping.consumerGroupId, topic)).values()]).toEqual([
      '-1',
      '-1',
    ]);
    const inFlight = recordsOf(eventsOf(mapping.functionName));
    expect(inFlight.length).toBeGreaterThan(0);

    // The same group again, with a function that succeeds: the same records come back.
    fake.received.delete(mapping.functionName);
    fake.setHandler(mapping.functionName, () => null);
    const second = await start(poller(mapping, fake, log));
    await waitFor('6 records', () => recordsOf(eventsOf(mapping.functionName)).length >= 6);
    const again = recordsOf(eventsOf(mapping.functionName));
    const id = (r: LambdaKafkaRecord): string => `${r.partition}@${r.offset}:${valueOf(r)}`;
    expect(again.map(id).sort()).toEqual(expect.arrayContaining(inFlight.map(id).sort()));
    expect(again.map(valueOf).sort()).toEqual(range(6).map((i) => `v${i}`));
    const counts = offsetsByPartition(again);
    await waitFor('offsets committed', async () => {
      const committed = await committedOffsets(kafka, mapping.consumerGroupId, topic);
      return [...counts].every(([p, offsets]) => committed.get(p) === String(offsets.length));
    });
    await stop(second);

    // Committed: a third start reads only what is new.
    fake.received.delete(mapping.functionName);
    await start(poller(mapping, fake, log));
    await produce(kafka, topic, [{ key: 'k-new', value: 'v-new' }]);
    await waitFor('the new record', () => recordsOf(eventsOf(mapping.functionName)).length >= 1);
    await sleep(1_000);
    expect(recordsOf(eventsOf(mapping.functionName)).map(valueOf)).toEqual(['v-new']);
  });

  it('commits nothing for a batch still failing when stopped', async () => {
    log = testLog();
    const topic = fresh('okafka');
    await createTopic(kafka, topic, 1);
    await produce(kafka, topic, [{ key: 'k', value: 'v' }]);
    const mapping = kafkaMapping({
      functionName: fresh('fn'),
      topic,
      plugin: { maximumRetryAttempts: -1 },
    });
    fake.setHandler(mapping.functionName, () => {
      throw new Error('always failing');
    });

    const p = await start(poller(mapping, fake, log));
    await waitFor('3 failed attempts', () => eventsOf(mapping.functionName).length >= 3);
    await stop(p);
    expect((await committedOffsets(kafka, mapping.consumerGroupId, topic)).get(0)).toBe('-1');
    expect(
      log.lines.filter((l) => l.level === 'warning' && l.message.includes('always failing')).length,
    ).toBeGreaterThanOrEqual(3);
  });

  it('starts at LATEST, TRIM_HORIZON or AT_TIMESTAMP when the group has no offsets', async () => {
    log = testLog();
    const topic = fresh('okafka');
    await createTopic(kafka, topic, 2);
    const now = Date.now();
    const producer = kafka.producer();
    await producer.connect();
    const send = async (prefix: string, timestamp: number | undefined): Promise<void> => {
      await producer.send({
        topic,
        acks: -1,
        messages: range(4).map((i) => ({
          key: `${prefix}-${i}`,
          value: `${prefix}-${i}`,
          ...(timestamp === undefined ? {} : { timestamp: String(timestamp) }),
        })),
      });
    };
    try {
      await send('old', now - 60_000);
      await send('mid', now - 10_000);
      const latest = kafkaMapping({
        functionName: fresh('latest'),
        topic,
        event: { startingPosition: 'LATEST' },
      });
      const trim = kafkaMapping({
        functionName: fresh('trim'),
        topic,
        event: { startingPosition: 'TRIM_HORIZON' },
      });
      const at = kafkaMapping({
        functionName: fresh('at'),
        topic,
        event: { startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: (now - 30_000) / 1000 },
      });
      for (const m of [latest, trim, at]) fake.setHandler(m.functionName, () => null);
      await Promise.all([latest, trim, at].map((m) => start(poller(m, fake, log))));
      await send('new', undefined);

      const values = (name: string): string[] => recordsOf(eventsOf(name)).map(valueOf).sort();
      await waitFor('every mapping caught up', () => {
        return (
          values(latest.functionName).length >= 4 &&
          values(trim.functionName).length >= 12 &&
          values(at.functionName).length >= 8
        );
      });
      await sleep(1_000);
      const all = (prefix: string): string[] => range(4).map((i) => `${prefix}-${i}`);
      expect(values(latest.functionName)).toEqual(all('new'));
      expect(values(trim.functionName)).toEqual([...all('mid'), ...all('new'), ...all('old')].sort());
      expect(values(at.functionName)).toEqual([...all('mid'), ...all('new')].sort());
    } finally {
      await producer.disconnect();
    }
  });
});
