import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ServerlessOfflineKafka from '#plugin/index.ts';
import type { ServerlessLike } from '#plugin/index.ts';
import { createTopic, kafkaClient, produce } from './broker.ts';
import { startFakeLambda } from './fake-lambda.ts';
import type { FakeLambda } from './fake-lambda.ts';
import { fresh, recordsOf, testLog, valueOf, waitFor } from './support.ts';

const CLUSTER_ARN = 'arn:aws:kafka:us-east-1:000000000000:cluster/offline/plugin-test';

/** A stand-in for the framework's `serverless` object, with the functions given. */
function serverless(
  functions: Record<string, { name: string; events: unknown[] }>,
  custom: Record<string, unknown>,
): ServerlessLike {
  return {
    service: {
      service: 'plugin-test',
      custom,
      provider: { region: 'us-east-1' },
      getAllFunctions: () => Object.keys(functions),
      getFunction: (key) => {
        const fn = functions[key];
        if (fn === undefined) throw new Error(`no function ${key}`);
        return fn;
      },
    },
  };
}

const kafkaEvent = (topic: string, fields: Record<string, unknown> = {}): Record<string, unknown> => ({
  kafka: {
    topic,
    bootstrapServers: ['127.0.0.1:9092'],
    accessConfigurations: { saslScram512Auth: ['arn:aws:secretsmanager:us-east-1:000000000000:secret:x'] },
    maximumBatchingWindow: 0.2,
    ...fields,
  },
});

async function groupState(kafka: Kafka, groupId: string): Promise<string | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return groups[0]?.state;
  } finally {
    await admin.disconnect();
  }
}

/** The plugin class as the framework drives it: hooks of `sls offline start`. */
describe('serverless-offline-kafka plugin', () => {
  let kafka: Kafka;
  let fake: FakeLambda;

  beforeAll(async () => {
    kafka = kafkaClient('offline-kafka-plugin-test');
    fake = await startFakeLambda();
  });

  afterAll(async () => {
    await fake.close();
  });

  it('starts one consumer per enabled kafka and msk event, none for enabled: false, and stops them', async () => {
    const log = testLog();
    const topic = fresh('okafka');
    await createTopic(kafka, topic, 2);
    const names = { on: fresh('on'), off: fresh('off'), msk: fresh('msk'), web: fresh('web') };
    const plugin = new ServerlessOfflineKafka(
      serverless(
        {
          on: { name: names.on, events: [kafkaEvent(topic)] },
          off: { name: names.off, events: [kafkaEvent(topic, { enabled: false })] },
          msk: {
            name: names.msk,
            events: [{ msk: { arn: CLUSTER_ARN, topic, maximumBatchingWindow: 0.2 } }],
          },
          web: { name: names.web, events: [{ http: { path: 'x', method: 'get' } }] },
        },
        {
          'serverless-offline-kafka': { brokers: ['127.0.0.1:9092'], lambdaEndpoint: fake.endpoint },
        },
      ),
      {},
      { log },
    );
    for (const name of [names.on, names.off, names.msk]) fake.setHandler(name, () => null);
    const sigintListeners = process.listenerCount('SIGINT');

    await plugin.hooks['offline:start:init']?.();
    expect(process.listenerCount('SIGINT')).toBe(sigintListeners + 1);
    try {
      await plugin.ready();
      await produce(
        kafka,
        topic,
        ['a', 'b', 'c', 'd', 'e'].map((v) => ({ key: v, value: v })),
      );
      await waitFor('both enabled mappings', () => {
        return (
          recordsOf(fake.received.get(names.on) ?? []).length >= 5 &&
          recordsOf(fake.received.get(names.msk) ?? []).length >= 5
        );
      });
      await sleep(1_000);
    } finally {
      await plugin.hooks['before:offline:start:end']?.();
    }
    // The end hook runs again after the before hook: stopping twice is harmless.
    await plugin.hooks['offline:start:end']?.();
    expect(process.listenerCount('SIGINT')).toBe(sigintListeners);

    expect(fake.received.get(names.off)).toBeUndefined();
    expect(await groupState(kafka, `sls-offline-kafka:${names.off}:${topic}`)).toBe('Dead');
    expect(log.lines).toContainEqual({
      level: 'info',
      message: `functions.off.events[0].kafka: enabled is false; not consuming ${topic}`,
    });
    // Stopped consumers left their groups.
    expect(await groupState(kafka, `sls-offline-kafka:${names.on}:${topic}`)).toBe('Empty');

    const selfManaged = fake.received.get(names.on) ?? [];
    expect(recordsOf(selfManaged).map(valueOf).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    for (const event of selfManaged) {
      expect(Object.keys(event)).toEqual(['eventSource', 'bootstrapServers', 'records']);
      expect(event.eventSource).toBe('SelfManagedKafka');
      expect(event.bootstrapServers).toBe('127.0.0.1:9092');
    }
    const msk = fake.received.get(names.msk) ?? [];
    expect(recordsOf(msk).map(valueOf).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    for (const event of msk) {
      expect(Object.keys(event)).toEqual(['eventSource', 'eventSourceArn', 'bootstrapServers', 'records']);
      expect(event).toMatchObject({
        eventSource: 'aws:kafka',
        eventSourceArn: CLUSTER_ARN,
        bootstrapServers: '127.0.0.1:9092',
      });
    }
  });

  it('writes a failed batch to its queue folder when destinationDirectory is set, and nothing to SQS', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'offline-kafka-plugin-'));
    const topic = fresh('okafka-dir');
    await createTopic(kafka, topic, 1);
    const name = fresh('failing');
    const queue = fresh('failed-batches');
    const plugin = new ServerlessOfflineKafka(
      serverless(
        {
          failing: {
            name,
            events: [
              kafkaEvent(topic, { onFailureDestination: `arn:aws:sqs:us-east-1:000000000000:${queue}` }),
            ],
          },
        },
        {
          'serverless-offline-kafka': {
            lambdaEndpoint: fake.endpoint,
            // No SQS there: a record sent to SQS would fail and be retried, never reach the folder.
            awsEndpoint: 'http://127.0.0.1:9',
            destinationDirectory: dir,
            maximumRetryAttempts: 0,
          },
        },
      ),
      {},
      { log: testLog() },
    );
    fake.setHandler(name, () => {
      throw new Error('always fails');
    });
    await plugin.hooks['offline:start:init']?.();
    try {
      await plugin.ready();
      await produce(kafka, topic, [{ key: 'k', value: 'v' }]);
      await waitFor('the failed batch in its folder', () => existsSync(path.join(dir, queue)));
      await waitFor('its record', () => readdirSync(path.join(dir, queue)).some((f) => f.endsWith('.json')));
    } finally {
      await plugin.hooks['before:offline:start:end']?.();
    }
    const [file] = readdirSync(path.join(dir, queue)).filter((f) => f.endsWith('.json'));
    const record = JSON.parse(readFileSync(path.join(dir, queue, file ?? ''), 'utf8')) as unknown;
    expect(record).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 1 },
      KafkaBatchInfo: { batchSize: 1, recordsInfo: { [`${topic}-0`]: { firstRecordOffset: '0' } } },
    });
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails the start hook with a message naming the property', async () => {
    const plugin = new ServerlessOfflineKafka(
      serverless({ sink: { name: 'x-sink', events: [{ msk: { arn: CLUSTER_ARN, topic: 't' } }] } }, {}),
      {},
      { log: testLog() },
    );
    await expect(plugin.hooks['offline:start:init']?.()).rejects.toThrow(
      /functions\.sink\.events\[0\]\.msk: .*custom\.serverless-offline-kafka\.brokers/,
    );
  });

  it('does nothing without kafka or msk events', async () => {
    const log = testLog();
    const plugin = new ServerlessOfflineKafka(
      serverless({ web: { name: 'x-web', events: [{ http: { path: 'x', method: 'get' } }] } }, {}),
      {},
      { log },
    );
    const sigintListeners = process.listenerCount('SIGINT');
    await plugin.hooks['offline:start:init']?.();
    await plugin.ready();
    expect(process.listenerCount('SIGINT')).toBe(sigintListeners);
    expect(log.lines).toEqual([]);
    await plugin.stop();
  });
});
