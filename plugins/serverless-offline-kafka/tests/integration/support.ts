/**
 * Helpers for the plugin's integration tests: mappings resolved through the plugin's own config
 * parser, pollers wired to the fake Lambda endpoint and to LocalStack's SQS, and polling waits.
 */
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Kafka } from 'kafkajs';
import { resolveConfig } from '#plugin/config.ts';
import type { MappingDefinition } from '#plugin/config.ts';
import type { LambdaKafkaEvent, LambdaKafkaRecord } from '#plugin/event-builder.ts';
import { createLambdaInvoker } from '#plugin/invoker.ts';
import { createSqsDestination } from '#plugin/on-failure.ts';
import type { KafkaFailureRecord } from '#plugin/on-failure.ts';
import { KafkaPoller } from '#plugin/poller.ts';
import type { PollerLog } from '#plugin/poller.ts';
import { brokers, sqsEndpoint, unique } from './broker.ts';
import type { FakeLambda } from './fake-lambda.ts';

const region = 'us-east-1';

let counter = 0;
/** A name no other test or run uses (unique() alone repeats within one millisecond). */
export const fresh = (prefix: string): string => `${unique(prefix)}_${String(counter++)}`;

/** A log that keeps its lines, so tests can assert on them and print them when they fail. */
export interface TestLog extends PollerLog {
  lines: { level: string; message: string }[];
}

/** A new TestLog. */
export function testLog(): TestLog {
  const lines: TestLog['lines'] = [];
  const at =
    (level: string) =>
    (message: string): void => {
      lines.push({ level, message });
    };
  return {
    lines,
    error: at('error'),
    warning: at('warning'),
    notice: at('notice'),
    info: at('info'),
    debug: at('debug'),
  };
}

/** A `kafka` event's mapping, resolved by the plugin's config parser with the local broker. */
export function kafkaMapping(options: {
  functionName: string;
  topic: string;
  event?: Record<string, unknown>;
  plugin?: Record<string, unknown>;
}): MappingDefinition {
  const { mappings } = resolveConfig({
    serviceName: 'plugin-test',
    providerRegion: region,
    custom: {
      'serverless-offline-kafka': {
        retryBackoff: { initialMs: 50, maxMs: 200 },
        ...options.plugin,
      },
    },
    functions: [
      {
        key: 'fn',
        name: options.functionName,
        events: [
          {
            kafka: {
              topic: options.topic,
              bootstrapServers: brokers,
              accessConfigurations: {
                saslScram512Auth: ['arn:aws:secretsmanager:us-east-1:000000000000:secret:x'],
              },
              maximumBatchingWindow: 0.3,
              ...options.event,
            },
          },
        ],
      },
    ],
    env: {},
    cliOptions: {},
  });
  const [mapping] = mappings;
  if (mapping === undefined) throw new Error('no mapping resolved');
  return mapping;
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** A poller for `mapping`, invoking the fake Lambda and sending failures to LocalStack's SQS. */
export function poller(mapping: MappingDefinition, fake: FakeLambda, log: TestLog): KafkaPoller {
  const invoker = createLambdaInvoker({ endpoint: fake.endpoint, region, credentials });
  const destination = createSqsDestination({ endpoint: sqsEndpoint, credentials });
  return new KafkaPoller({
    mapping,
    invoke: invoker.forFunction(mapping.functionName),
    sendToDestination: destination.send,
    log,
  });
}

/** Polls `check` until it returns true, or fails naming `what`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Every record of the events, in delivery order. */
export const recordsOf = (events: readonly LambdaKafkaEvent[]): LambdaKafkaRecord[] =>
  events.flatMap((event) => Object.values(event.records).flat());

/** A record's value as text. */
export const valueOf = (record: LambdaKafkaRecord): string =>
  Buffer.from(record.value ?? '', 'base64').toString();

/** The group's committed offsets of `topic`, by partition ('-1' for none). */
export async function committedOffsets(
  kafka: Kafka,
  groupId: string,
  topic: string,
): Promise<Map<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((entry?.partitions ?? []).map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

/** A fresh SQS queue in LocalStack: its ARN and URL. */
export async function createQueue(sqs: SQSClient, name: string): Promise<{ arn: string; url: string }> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  if (QueueUrl === undefined) throw new Error('no queue URL');
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.QueueArn;
  if (arn === undefined) throw new Error('no queue ARN');
  return { arn, url: QueueUrl };
}

/** Deletes a queue made by createQueue. */
export async function deleteQueue(sqs: SQSClient, url: string): Promise<void> {
  await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
}

/** Receives on-failure records from the queue until `count` have come, or fails. */
export async function receiveFailureRecords(
  sqs: SQSClient,
  url: string,
  count: number,
  timeoutMs = 30_000,
): Promise<KafkaFailureRecord[]> {
  const records: KafkaFailureRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (records.length < count) {
    if (Date.now() > deadline) throw new Error(`received ${records.length} of ${count} on-failure records`);
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const message of Messages ?? [])
      records.push(JSON.parse(message.Body ?? 'null') as KafkaFailureRecord);
  }
  return records;
}
