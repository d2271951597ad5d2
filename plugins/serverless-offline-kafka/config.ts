/**
 * Parses the plugin's configuration (`custom.serverless-offline-kafka`) and the functions' `kafka` and
 * `msk` events into one resolved definition per event-source mapping. Everything is validated here,
 * at the edge, so that a mistake stops `sls offline start` with a message naming the property.
 */
import path from 'node:path';
import { z } from 'zod';
import { MAX_PAYLOAD_BYTES } from './event-builder.ts';
import type { EventSourceInfo } from './event-builder.ts';
import { parseSqsArn } from './on-failure.ts';

/** The key of the plugin's own block under `custom`. */
export const CONFIG_KEY = 'serverless-offline-kafka';

/**
 * The account in the ARNs the plugin makes up (function ARN, placeholder cluster ARN): LocalStack's
 * default account, since nothing offline has a real one.
 */
export const OFFLINE_ACCOUNT_ID = '000000000000';

/** AWS: "When you configure both infinite retries and an on-failure destination, Lambda automatically applies a maximum of 10 retry attempts." */
export const RETRIES_WITH_DESTINATION_WHEN_INFINITE = 10;

/** A configuration mistake, reported as one readable message. */
export class ConfigError extends Error {
  /** `message` names the property at fault. */
  constructor(message: string) {
    super(`${CONFIG_KEY}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Where a mapping starts reading when its consumer group has no committed offset. */
export type StartingPosition = 'LATEST' | 'TRIM_HORIZON' | 'AT_TIMESTAMP';

/** Backoff between two attempts of the same batch: doubling from initialMs, capped at maxMs. */
export interface RetryBackoff {
  initialMs: number;
  maxMs: number;
}

/** The plugin-wide settings, defaults applied. */
export interface PluginSettings {
  /** Brokers to connect to instead of the events' own (required for `msk` events). */
  brokers?: string[];
  /** Endpoint of the AWS API that holds the on-failure destinations (LocalStack offline). */
  awsEndpoint?: string;
  /** When set, on-failure records go to `<dir>/<queue name>/` as files instead of to SQS. */
  destinationDirectory?: string;
  region: string;
  /** -1 retries forever (AWS's own default); 0..10000 retries after the first attempt. */
  maximumRetryAttempts: number;
  /** -1 never discards a record for its age (AWS's own default); else 60..604800 seconds. */
  maximumRecordAgeInSeconds: number;
  retryBackoff: RetryBackoff;
  /** Fallback on-failure destination for events without their own (all `msk` events). */
  onFailureDestination?: string;
  /** serverless-offline's Lambda Invoke API. */
  lambdaEndpoint: string;
}

/** One event-source mapping, resolved: everything the poller needs. */
export interface MappingDefinition {
  /** The function's key under `functions:`, e.g. `sink`. */
  functionKey: string;
  /** The deployed name serverless-offline knows the function by, e.g. `user-pipeline-local-sink`. */
  functionName: string;
  functionArn: string;
  /** Position of the event in the function's `events`, for messages. */
  eventIndex: number;
  /** `functions.sink.events[0].kafka`: where the mapping is declared, for messages. */
  label: string;
  enabled: boolean;
  source: EventSourceInfo;
  /** The brokers the consumer connects to. */
  brokers: string[];
  topic: string;
  batchSize: number;
  maximumBatchingWindowMs: number;
  maxPayloadBytes: number;
  startingPosition: StartingPosition;
  /** Milliseconds since the epoch; set exactly when startingPosition is AT_TIMESTAMP. */
  startingPositionTimestampMs?: number;
  consumerGroupId: string;
  /** An SQS queue ARN, or none. */
  onFailureDestination?: string;
  /** Effective value for this mapping (see RETRIES_WITH_DESTINATION_WHEN_INFINITE). */
  maximumRetryAttempts: number;
  /** A batch whose oldest record is older than this is discarded instead of invoked; none: never. */
  maximumRecordAgeMs?: number;
  retryBackoff: RetryBackoff;
}

/** What the plugin reads from the service, already variable-resolved by the framework. */
export interface ServiceInput {
  serviceName: string;
  providerRegion?: string | undefined;
  providerEnvironment?: Record<string, unknown> | undefined;
  /** The whole `custom` block (the plugin reads its own key and serverless-offline's). */
  custom: unknown;
  functions: readonly { key: string; name: string; events: readonly unknown[] }[];
  /** Environment variables of the `sls` process. */
  env: Readonly<Record<string, string | undefined>>;
  /** CLI options of `sls offline start` (serverless-offline's --host and --lambdaPort). */
  cliOptions: Readonly<Record<string, unknown>>;
}

/** The result of resolving: settings, mappings (disabled ones included), and warnings to log. */
export interface ResolvedConfig {
  settings: PluginSettings;
  mappings: MappingDefinition[];
  warnings: string[];
}

/** AWS's default batching window for Kafka sources: "the default batching window is 500 ms". */
export const DEFAULT_BATCHING_WINDOW_SECONDS = 0.5;
/** AWS's default batch size. */
export const DEFAULT_BATCH_SIZE = 100;
/** Offline default; AWS's own is -1 (forever), which makes a poison record block a partition. */
export const DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 3;
/** AWS's default (and the offline one): records are never discarded for their age. */
export const DEFAULT_MAXIMUM_RECORD_AGE_SECONDS = -1;
/** Offline default backoff. */
export const DEFAULT_RETRY_BACKOFF: RetryBackoff = { initialMs: 500, maxMs: 10_000 };
/** serverless-offline's default Lambda port. */
export const DEFAULT_LAMBDA_PORT = 3002;

const booleanish = z.union([z.boolean(), z.enum(['true', 'false']).transform((value) => value === 'true')]);

const RetryBackoffSchema = z
  .strictObject({
    initialMs: z.int().min(0).default(DEFAULT_RETRY_BACKOFF.initialMs),
    maxMs: z.int().min(0).default(DEFAULT_RETRY_BACKOFF.maxMs),
  })
  .refine((backoff) => backoff.initialMs <= backoff.maxMs, {
    message: 'initialMs must not exceed maxMs',
    path: ['maxMs'],
  });

const PluginConfigSchema = z.strictObject({
  brokers: z.array(z.string().min(1)).min(1).optional(),
  awsEndpoint: z.url().optional(),
  // '' (a stage that has none) counts as unset.
  destinationDirectory: z.string().optional(),
  region: z.string().min(1).optional(),
  maximumRetryAttempts: z.int().min(-1).max(10_000).default(DEFAULT_MAXIMUM_RETRY_ATTEMPTS),
  // AWS: "The minimum valid value for maximum record age is 60s", the maximum a week; -1 is infinite.
  maximumRecordAgeInSeconds: z
    .union([z.literal(-1), z.int().min(60).max(604_800)])
    .default(DEFAULT_MAXIMUM_RECORD_AGE_SECONDS),
  retryBackoff: RetryBackoffSchema.default(DEFAULT_RETRY_BACKOFF),
  onFailureDestination: z.string().min(1).optional(),
  lambdaEndpoint: z.url().optional(),
});

const OfflineConfigSchema = z.looseObject({
  host: z.string().min(1).optional(),
  lambdaPort: z.union([z.int(), z.string().regex(/^\d+$/)]).optional(),
});

// The framework validated these events against its schema already (in "warn" mode by default, so
// they may still be wrong): only what the plugin uses is checked, loosely about the rest.
const commonEventShape = {
  topic: z.string().min(1),
  batchSize: z.int().min(1).max(10_000).optional(),
  maximumBatchingWindow: z.number().min(0).max(300).optional(),
  enabled: booleanish.optional(),
  startingPosition: z.enum(['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP']).optional(),
  startingPositionTimestamp: z.number().min(0).optional(),
  consumerGroupId: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[a-zA-Z0-9\-/*:_+=.@]*$/)
    .optional(),
  filterPatterns: z.array(z.unknown()).optional(),
};

const KafkaEventSchema = z.looseObject({
  ...commonEventShape,
  bootstrapServers: z.array(z.string().min(1)).min(1),
  onFailureDestination: z.string().min(1).optional(),
});

const MskEventSchema = z.looseObject({
  ...commonEventShape,
  // An ARN string, or a CloudFormation Ref / Fn::ImportValue that cannot be resolved offline.
  arn: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
});

type KafkaEvent = z.infer<typeof KafkaEventSchema>;
type MskEvent = z.infer<typeof MskEventSchema>;

function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const path = [where, ...issue.path.map(String)].join('.');
    return `${path}: ${issue.message}`;
  });
  throw new ConfigError(lines.join('; '));
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const nonEmpty = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value : undefined;

function resolveLambdaEndpoint(input: ServiceInput, explicit: string | undefined): string {
  if (explicit !== undefined) return explicit.replace(/\/+$/, '');
  const custom = isRecord(input.custom) ? input.custom : {};
  const offline = parseOrThrow(
    OfflineConfigSchema,
    custom['serverless-offline'] ?? {},
    'custom.serverless-offline',
  );
  // The CLI's --lambdaPort and --host win over the file, as they do for serverless-offline.
  const cliPort = input.cliOptions['lambdaPort'];
  const port =
    typeof cliPort === 'string' || typeof cliPort === 'number'
      ? String(cliPort)
      : String(offline.lambdaPort ?? DEFAULT_LAMBDA_PORT);
  const host = nonEmpty(input.cliOptions['host']) ?? offline.host ?? '127.0.0.1';
  // serverless-offline listens on all interfaces for these; the plugin calls it on loopback.
  const callable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${callable}:${port}`;
}

/** Parses `custom.serverless-offline-kafka` and the defaults around it. */
export function resolveSettings(input: ServiceInput): PluginSettings {
  const custom = isRecord(input.custom) ? input.custom : {};
  const raw = parseOrThrow(PluginConfigSchema, custom[CONFIG_KEY] ?? {}, `custom.${CONFIG_KEY}`);
  const awsEndpoint =
    raw.awsEndpoint ??
    nonEmpty(input.env['AWS_ENDPOINT_URL']) ??
    nonEmpty(input.providerEnvironment?.['AWS_ENDPOINT_URL']);
  return {
    ...(raw.brokers === undefined ? {} : { brokers: raw.brokers }),
    ...(awsEndpoint === undefined ? {} : { awsEndpoint }),
    ...(nonEmpty(raw.destinationDirectory) === undefined
      ? {}
      : { destinationDirectory: path.resolve(raw.destinationDirectory ?? '') }),
    region: raw.region ?? input.providerRegion ?? 'us-east-1',
    maximumRetryAttempts: raw.maximumRetryAttempts,
    maximumRecordAgeInSeconds: raw.maximumRecordAgeInSeconds,
    retryBackoff: raw.retryBackoff,
    ...(raw.onFailureDestination === undefined ? {} : { onFailureDestination: raw.onFailureDestination }),
    lambdaEndpoint: resolveLambdaEndpoint(input, raw.lambdaEndpoint),
  };
}

interface FoundEvent {
  functionKey: string;
  functionName: string;
  eventIndex: number;
  type: 'kafka' | 'msk';
  raw: unknown;
}

function findKafkaEvents(input: ServiceInput): FoundEvent[] {
  const found: FoundEvent[] = [];
  for (const fn of input.functions) {
    fn.events.forEach((event, eventIndex) => {
      if (!isRecord(event)) return;
      for (const type of ['kafka', 'msk'] as const) {
        if (type in event) {
          found.push({ functionKey: fn.key, functionName: fn.name, eventIndex, type, raw: event[type] });
        }
      }
    });
  }
  return found;
}

function startingPositionOf(
  event: KafkaEvent | MskEvent,
  label: string,
): Pick<MappingDefinition, 'startingPosition' | 'startingPositionTimestampMs'> {
  // The framework's default when compiling both events.
  const startingPosition = event.startingPosition ?? 'TRIM_HORIZON';
  if (startingPosition !== 'AT_TIMESTAMP') return { startingPosition };
  if (event.startingPositionTimestamp === undefined) {
    throw new ConfigError(
      `${label}.startingPositionTimestamp: required (Unix time in seconds) when startingPosition is AT_TIMESTAMP`,
    );
  }
  return {
    startingPosition,
    startingPositionTimestampMs: Math.round(event.startingPositionTimestamp * 1000),
  };
}

function destinationOf(candidate: string | undefined, label: string, warnings: string[]): string | undefined {
  if (candidate === undefined) return undefined;
  if (parseSqsArn(candidate) !== undefined) return candidate;
  warnings.push(
    `${label}: on-failure destination "${candidate}" is not an SQS queue ARN; offline only SQS is supported, ` +
      'so failed batches of this mapping are logged and skipped',
  );
  return undefined;
}

/** Resolves the plugin settings and every `kafka`/`msk` event of the service into mappings. */
export function resolveConfig(input: ServiceInput): ResolvedConfig {
  const settings = resolveSettings(input);
  const warnings: string[] = [];
  const mappings: MappingDefinition[] = [];

  for (const found of findKafkaEvents(input)) {
    const label = `functions.${found.functionKey}.events[${found.eventIndex}].${found.type}`;
    let source: EventSourceInfo;
    let brokers: string[];
    let eventDestination: string | undefined;
    let event: KafkaEvent | MskEvent;

    if (found.type === 'kafka') {
      const kafka = parseOrThrow(KafkaEventSchema, found.raw, label);
      event = kafka;
      brokers = settings.brokers ?? kafka.bootstrapServers;
      // The event carries the servers the mapping is configured with, as AWS does.
      source = { kind: 'kafka', bootstrapServers: kafka.bootstrapServers.join(',') };
      eventDestination = kafka.onFailureDestination;
    } else {
      const msk = parseOrThrow(MskEventSchema, found.raw, label);
      event = msk;
      if (settings.brokers === undefined) {
        throw new ConfigError(
          `${label}: an MSK cluster ARN cannot be resolved to brokers offline; ` +
            `set custom.${CONFIG_KEY}.brokers (for example ['127.0.0.1:9092'])`,
        );
      }
      brokers = settings.brokers;
      let eventSourceArn: string;
      if (typeof msk.arn === 'string') {
        eventSourceArn = msk.arn;
      } else {
        eventSourceArn = `arn:aws:kafka:${settings.region}:${OFFLINE_ACCOUNT_ID}:cluster/offline/${found.functionKey}`;
        warnings.push(
          `${label}.arn is a CloudFormation reference; the events carry ${eventSourceArn} instead`,
        );
      }
      source = { kind: 'msk', eventSourceArn, bootstrapServers: brokers.join(',') };
    }

    const window = event.maximumBatchingWindow;
    if (window !== undefined && !Number.isInteger(window)) {
      // The framework passes the value through unchanged, and CloudFormation types
      // MaximumBatchingWindowInSeconds as an Integer: the deploy would fail where offline works.
      warnings.push(
        `${label}.maximumBatchingWindow: ${window} is honoured offline, but AWS takes whole seconds only ` +
          '(0 to 300) and CloudFormation would refuse the mapping; leave it out for 500 ms',
      );
    }

    if (event.filterPatterns !== undefined) {
      warnings.push(`${label}.filterPatterns: not applied offline; every record is delivered`);
    }

    const onFailureDestination = destinationOf(
      eventDestination ?? settings.onFailureDestination,
      label,
      warnings,
    );
    const maximumRetryAttempts =
      settings.maximumRetryAttempts === -1 && onFailureDestination !== undefined
        ? RETRIES_WITH_DESTINATION_WHEN_INFINITE
        : settings.maximumRetryAttempts;

    mappings.push({
      functionKey: found.functionKey,
      functionName: found.functionName,
      functionArn: `arn:aws:lambda:${settings.region}:${OFFLINE_ACCOUNT_ID}:function:${found.functionName}`,
      eventIndex: found.eventIndex,
      label,
      enabled: event.enabled ?? true,
      source,
      brokers,
      topic: event.topic,
      batchSize: event.batchSize ?? DEFAULT_BATCH_SIZE,
      maximumBatchingWindowMs: Math.round(
        (event.maximumBatchingWindow ?? DEFAULT_BATCHING_WINDOW_SECONDS) * 1000,
      ),
      maxPayloadBytes: MAX_PAYLOAD_BYTES,
      ...startingPositionOf(event, label),
      consumerGroupId: event.consumerGroupId ?? '',
      ...(onFailureDestination === undefined ? {} : { onFailureDestination }),
      maximumRetryAttempts,
      ...(settings.maximumRecordAgeInSeconds === -1
        ? {}
        : { maximumRecordAgeMs: settings.maximumRecordAgeInSeconds * 1000 }),
      retryBackoff: settings.retryBackoff,
    });
  }

  assignConsumerGroups(mappings);
  return { settings, mappings, warnings };
}

/**
 * AWS defaults the group to a unique value per mapping (observed: the mapping's UUID). Offline has no
 * UUID that survives a restart, so the default is derived from what identifies the mapping:
 * `sls-offline-kafka:<deployed function name>:<topic>`, with `:<event index>` added when two events
 * of one function read the same topic. Like AWS, every group must be unique.
 */
function assignConsumerGroups(mappings: MappingDefinition[]): void {
  const defaultGroup = (m: MappingDefinition): string => `sls-offline-kafka:${m.functionName}:${m.topic}`;
  const defaultCounts = new Map<string, number>();
  for (const m of mappings) {
    if (m.consumerGroupId === '')
      defaultCounts.set(defaultGroup(m), (defaultCounts.get(defaultGroup(m)) ?? 0) + 1);
  }
  const seen = new Map<string, string>();
  for (const m of mappings) {
    if (m.consumerGroupId === '') {
      const base = defaultGroup(m);
      m.consumerGroupId = (defaultCounts.get(base) ?? 0) > 1 ? `${base}:${m.eventIndex}` : base;
    }
    const other = seen.get(m.consumerGroupId);
    if (other !== undefined) {
      throw new ConfigError(
        `${m.label}.consumerGroupId: "${m.consumerGroupId}" is also used by ${other}; ` +
          'each mapping needs its own consumer group',
      );
    }
    seen.set(m.consumerGroupId, m.label);
  }
}
