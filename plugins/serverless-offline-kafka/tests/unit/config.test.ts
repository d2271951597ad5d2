import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '#plugin/config.ts';
import type { MappingDefinition, ServiceInput } from '#plugin/config.ts';

const kafkaEvent = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({
  kafka: {
    topic: 'users',
    bootstrapServers: ['kafka-1:9092', 'kafka-2:9092'],
    accessConfigurations: { saslScram512Auth: ['arn:aws:secretsmanager:us-east-1:000000000000:secret:x'] },
    ...fields,
  },
});

const mskEvent = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({
  msk: { arn: 'arn:aws:kafka:us-east-1:111122223333:cluster/demo/abc-1', topic: 'users', ...fields },
});

function input(
  overrides: Partial<ServiceInput> & { events?: unknown[]; plugin?: unknown } = {},
): ServiceInput {
  const { events, plugin, ...rest } = overrides;
  return {
    serviceName: 'user-pipeline',
    providerRegion: 'eu-west-1',
    custom: plugin === undefined ? {} : { 'serverless-offline-kafka': plugin },
    functions: [
      {
        key: 'health',
        name: 'user-pipeline-local-health',
        events: [{ http: { path: 'health', method: 'get' } }],
      },
      { key: 'sink', name: 'user-pipeline-local-sink', events: events ?? [kafkaEvent()] },
    ],
    env: {},
    cliOptions: {},
    ...rest,
  };
}

function onlyMapping(service: ServiceInput): MappingDefinition {
  const { mappings } = resolveConfig(service);
  expect(mappings).toHaveLength(1);
  const [mapping] = mappings;
  if (mapping === undefined) throw new Error('no mapping');
  return mapping;
}

const errorOf = (service: ServiceInput): string => {
  try {
    resolveConfig(service);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('resolveConfig did not throw');
};

describe('config: a kafka event with nothing but what osls requires', () => {
  it('applies the AWS defaults and the offline ones', () => {
    const { settings, mappings, warnings } = resolveConfig(input());
    expect(warnings).toEqual([]);
    expect(settings).toEqual({
      region: 'eu-west-1',
      maximumRetryAttempts: 3,
      maximumRecordAgeInSeconds: -1,
      retryBackoff: { initialMs: 500, maxMs: 10_000 },
      lambdaEndpoint: 'http://127.0.0.1:3002',
    });
    expect(mappings).toEqual([
      {
        functionKey: 'sink',
        functionName: 'user-pipeline-local-sink',
        functionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:user-pipeline-local-sink',
        eventIndex: 0,
        label: 'functions.sink.events[0].kafka',
        enabled: true,
        source: { kind: 'kafka', bootstrapServers: 'kafka-1:9092,kafka-2:9092' },
        brokers: ['kafka-1:9092', 'kafka-2:9092'],
        topic: 'users',
        batchSize: 100,
        maximumBatchingWindowMs: 500,
        maxPayloadBytes: 6_291_456,
        startingPosition: 'TRIM_HORIZON',
        consumerGroupId: 'sls-offline-kafka:user-pipeline-local-sink:users',
        maximumRetryAttempts: 3,
        retryBackoff: { initialMs: 500, maxMs: 10_000 },
      },
    ]);
  });

  it('takes every event property it knows', () => {
    const mapping = onlyMapping(
      input({
        events: [
          kafkaEvent({
            batchSize: 7,
            maximumBatchingWindow: 2,
            enabled: false,
            startingPosition: 'AT_TIMESTAMP',
            startingPositionTimestamp: 1_700_000_000.25,
            consumerGroupId: 'my-group',
            onFailureDestination: 'arn:aws:sqs:eu-west-1:000000000000:sink-dlq',
          }),
        ],
      }),
    );
    expect(mapping).toMatchObject({
      batchSize: 7,
      maximumBatchingWindowMs: 2_000,
      enabled: false,
      startingPosition: 'AT_TIMESTAMP',
      startingPositionTimestampMs: 1_700_000_000_250,
      consumerGroupId: 'my-group',
      onFailureDestination: 'arn:aws:sqs:eu-west-1:000000000000:sink-dlq',
    });
  });

  it('connects to the plugin brokers when set, but the event still names the configured servers', () => {
    const mapping = onlyMapping(input({ plugin: { brokers: ['127.0.0.1:9092'] } }));
    expect(mapping.brokers).toEqual(['127.0.0.1:9092']);
    expect(mapping.source).toEqual({ kind: 'kafka', bootstrapServers: 'kafka-1:9092,kafka-2:9092' });
  });

  it('reads enabled given as a string by a variable', () => {
    expect(onlyMapping(input({ events: [kafkaEvent({ enabled: 'false' })] })).enabled).toBe(false);
  });
});

describe('config: msk events', () => {
  it('fails clearly without plugin brokers, since an MSK ARN cannot be resolved offline', () => {
    const message = errorOf(input({ events: [mskEvent()] }));
    expect(message).toContain('functions.sink.events[0].msk');
    expect(message).toContain('custom.serverless-offline-kafka.brokers');
  });

  it('uses the plugin brokers, the cluster ARN, and the plugin fallback destination', () => {
    const mapping = onlyMapping(
      input({
        events: [mskEvent({ batchSize: 10, startingPosition: 'LATEST' })],
        plugin: {
          brokers: ['127.0.0.1:9092', '127.0.0.1:9093'],
          onFailureDestination: 'arn:aws:sqs:eu-west-1:000000000000:dlq',
        },
      }),
    );
    expect(mapping.source).toEqual({
      kind: 'msk',
      eventSourceArn: 'arn:aws:kafka:us-east-1:111122223333:cluster/demo/abc-1',
      bootstrapServers: '127.0.0.1:9092,127.0.0.1:9093',
    });
    expect(mapping.brokers).toEqual(['127.0.0.1:9092', '127.0.0.1:9093']);
    expect(mapping.startingPosition).toBe('LATEST');
    expect(mapping.onFailureDestination).toBe('arn:aws:sqs:eu-west-1:000000000000:dlq');
    expect(mapping.label).toBe('functions.sink.events[0].msk');
  });

  it('stands in a placeholder ARN for a CloudFormation reference, with a warning', () => {
    const { mappings, warnings } = resolveConfig(
      input({ events: [mskEvent({ arn: { Ref: 'Cluster' } })], plugin: { brokers: ['b:9092'] } }),
    );
    expect(mappings[0]?.source).toMatchObject({
      eventSourceArn: 'arn:aws:kafka:eu-west-1:000000000000:cluster/offline/sink',
    });
    expect(warnings).toEqual([expect.stringContaining('functions.sink.events[0].msk.arn')]);
  });
});

describe('config: mistakes name the property', () => {
  it.each([
    [{ batchSize: 0 }, 'functions.sink.events[0].kafka.batchSize'],
    [{ batchSize: 10_001 }, 'functions.sink.events[0].kafka.batchSize'],
    [{ maximumBatchingWindow: 301 }, 'functions.sink.events[0].kafka.maximumBatchingWindow'],
    [{ startingPosition: 'EARLIEST' }, 'functions.sink.events[0].kafka.startingPosition'],
    [{ topic: '' }, 'functions.sink.events[0].kafka.topic'],
    [{ bootstrapServers: [] }, 'functions.sink.events[0].kafka.bootstrapServers'],
    [{ startingPosition: 'AT_TIMESTAMP' }, 'functions.sink.events[0].kafka.startingPositionTimestamp'],
  ])('event %j', (fields, path) => {
    expect(errorOf(input({ events: [kafkaEvent(fields)] }))).toContain(path);
  });

  it.each([
    [{ brokers: '127.0.0.1:9092' }, 'custom.serverless-offline-kafka.brokers'],
    [{ maximumRetryAttempts: -2 }, 'custom.serverless-offline-kafka.maximumRetryAttempts'],
    [{ retryBackoff: { initialMs: 100, maxMs: 10 } }, 'custom.serverless-offline-kafka.retryBackoff.maxMs'],
    [{ lambdaEndpoint: 'not a url' }, 'custom.serverless-offline-kafka.lambdaEndpoint'],
    [{ retries: 3 }, 'retries'],
  ])('plugin config %j', (plugin, path) => {
    expect(errorOf(input({ plugin }))).toContain(path);
  });

  it('refuses two mappings in one consumer group', () => {
    const message = errorOf(
      input({
        events: [kafkaEvent({ consumerGroupId: 'g' }), kafkaEvent({ topic: 'other', consumerGroupId: 'g' })],
      }),
    );
    expect(message).toContain('functions.sink.events[1].kafka.consumerGroupId');
    expect(message).toContain('functions.sink.events[0].kafka');
  });
});

describe('config: defaults around the plugin', () => {
  it('gives two events of one function on one topic their own default groups', () => {
    const { mappings } = resolveConfig(input({ events: [kafkaEvent(), kafkaEvent({ batchSize: 5 })] }));
    expect(mappings.map((m) => m.consumerGroupId)).toEqual([
      'sls-offline-kafka:user-pipeline-local-sink:users:0',
      'sls-offline-kafka:user-pipeline-local-sink:users:1',
    ]);
  });

  it("calls serverless-offline's lambdaPort (a string in YAML) and host; the CLI wins", () => {
    const custom = {
      'serverless-offline': { host: '0.0.0.0', lambdaPort: '3102' },
    };
    expect(resolveConfig(input({ custom })).settings.lambdaEndpoint).toBe('http://127.0.0.1:3102');
    expect(resolveConfig(input({ custom, cliOptions: { lambdaPort: '4002' } })).settings.lambdaEndpoint).toBe(
      'http://127.0.0.1:4002',
    );
    expect(
      resolveConfig(
        input({ custom: { 'serverless-offline-kafka': { lambdaEndpoint: 'http://localhost:9/' } } }),
      ).settings.lambdaEndpoint,
    ).toBe('http://localhost:9');
  });

  it('finds the AWS endpoint in the plugin config, else AWS_ENDPOINT_URL, else the provider environment', () => {
    const providerEnvironment = { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' };
    expect(resolveConfig(input({ providerEnvironment })).settings.awsEndpoint).toBe('http://127.0.0.1:4566');
    expect(
      resolveConfig(input({ providerEnvironment, env: { AWS_ENDPOINT_URL: 'http://env:1' } })).settings
        .awsEndpoint,
    ).toBe('http://env:1');
    expect(
      resolveConfig(
        input({
          providerEnvironment,
          env: { AWS_ENDPOINT_URL: 'http://env:1' },
          plugin: { awsEndpoint: 'http://plugin:2' },
        }),
      ).settings.awsEndpoint,
    ).toBe('http://plugin:2');
    expect(
      resolveConfig(input({ providerEnvironment: { AWS_ENDPOINT_URL: '' } })).settings.awsEndpoint,
    ).toBeUndefined();
  });

  it('takes a destination folder, absolute, and counts an empty one as none', () => {
    expect(resolveConfig(input({ plugin: { destinationDirectory: '/data/stores' } })).settings).toMatchObject(
      {
        destinationDirectory: '/data/stores',
      },
    );
    expect(
      resolveConfig(input({ plugin: { destinationDirectory: '.local/stores' } })).settings
        .destinationDirectory,
    ).toBe(path.resolve('.local/stores'));
    expect(resolveConfig(input({ plugin: { destinationDirectory: '' } })).settings).not.toHaveProperty(
      'destinationDirectory',
    );
  });

  it('retries forever with -1, but 10 times when there is a destination (as AWS)', () => {
    const destination = 'arn:aws:sqs:eu-west-1:000000000000:dlq';
    expect(onlyMapping(input({ plugin: { maximumRetryAttempts: -1 } })).maximumRetryAttempts).toBe(-1);
    expect(
      onlyMapping(input({ plugin: { maximumRetryAttempts: -1, onFailureDestination: destination } }))
        .maximumRetryAttempts,
    ).toBe(10);
    expect(
      onlyMapping(input({ plugin: { maximumRetryAttempts: 0, onFailureDestination: destination } }))
        .maximumRetryAttempts,
    ).toBe(0);
  });

  it('discards records past maximumRecordAgeInSeconds, -1 or 60 to 604,800 as AWS, and never by default', () => {
    expect(onlyMapping(input()).maximumRecordAgeMs).toBeUndefined();
    expect(
      onlyMapping(input({ plugin: { maximumRecordAgeInSeconds: -1 } })).maximumRecordAgeMs,
    ).toBeUndefined();
    expect(onlyMapping(input({ plugin: { maximumRecordAgeInSeconds: 86_400 } })).maximumRecordAgeMs).toBe(
      86_400_000,
    );
    for (const refused of [0, 59, 604_801, 1.5]) {
      expect(errorOf(input({ plugin: { maximumRecordAgeInSeconds: refused } }))).toContain(
        'custom.serverless-offline-kafka.maximumRecordAgeInSeconds',
      );
    }
  });

  it('prefers the event destination to the plugin fallback, and ignores non-SQS ones with a warning', () => {
    const fallback = 'arn:aws:sqs:eu-west-1:000000000000:fallback';
    expect(
      onlyMapping(
        input({
          events: [kafkaEvent({ onFailureDestination: 'arn:aws:sqs:eu-west-1:000000000000:own' })],
          plugin: { onFailureDestination: fallback },
        }),
      ).onFailureDestination,
    ).toBe('arn:aws:sqs:eu-west-1:000000000000:own');
    const { mappings, warnings } = resolveConfig(
      input({ events: [kafkaEvent({ onFailureDestination: 'arn:aws:sns:eu-west-1:000000000000:topic' })] }),
    );
    expect(mappings[0]?.onFailureDestination).toBeUndefined();
    expect(warnings).toEqual([expect.stringContaining('not an SQS queue ARN')]);
  });

  it('warns that filterPatterns are not applied', () => {
    const { warnings } = resolveConfig(
      input({ events: [kafkaEvent({ filterPatterns: [{ value: { a: [1] } }] })] }),
    );
    expect(warnings).toEqual([expect.stringContaining('functions.sink.events[0].kafka.filterPatterns')]);
  });

  it('honours a fractional batching window, but warns that CloudFormation takes whole seconds only', () => {
    const { mappings, warnings } = resolveConfig(
      input({ events: [kafkaEvent({ maximumBatchingWindow: 0.5 })] }),
    );
    expect(mappings[0]?.maximumBatchingWindowMs).toBe(500);
    expect(warnings).toEqual([
      expect.stringMatching(
        /functions\.sink\.events\[0\]\.kafka\.maximumBatchingWindow: 0\.5 .*whole seconds/,
      ),
    ]);
  });

  it('has no mappings for a service without kafka or msk events', () => {
    expect(resolveConfig(input({ events: [{ sqs: { arn: 'arn:aws:sqs:x' } }] })).mappings).toEqual([]);
  });
});
