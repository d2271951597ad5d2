/**
 * The on-failure record of a Kafka event-source mapping, and its delivery to an SQS queue.
 *
 * The record follows the AWS page "Capturing discarded batches for Amazon MSK and self-managed Apache
 * Kafka event sources" (SNS and SQS example): offsets and timestamps are strings there, `recordsInfo`
 * is keyed by `<topic>-<partition>`, and `responseContext` is null for MaximumPayloadSizeExceeded. SQS
 * destinations get the metadata only (only S3 destinations carry the payload).
 */
import path from 'node:path';
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
// The project's directory queue, so that its console and DLQ tool read what the trigger writes. A
// relative path: the plugin's own package.json cannot map #lib (Node takes no target outside it).
// eslint-disable-next-line no-restricted-imports -- the one import from the project's functions
import { directoryQueue } from '../../functions/lib/message-queue.ts';
import { clientConfig } from './aws.ts';
import type { StaticCredentials } from './aws.ts';
import type { PartitionRange } from './batcher.ts';
import type { EventSourceInfo } from './event-builder.ts';

/** Why a batch went to the destination instead of being retried further. */
export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded' | 'MaximumPayloadSizeExceeded';

/** First and last offset and timestamp of one topic-partition of the failed batch. */
export interface RecordsInfoEntry {
  firstRecordOffset: string;
  lastRecordOffset: string;
  firstRecordTimestamp: string;
  lastRecordTimestamp: string;
}

/** The JSON document sent to an SQS (or SNS) on-failure destination. */
export interface KafkaFailureRecord {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: FailureCondition;
    approximateInvokeCount: number;
  };
  responseContext: { statusCode: number; executedVersion: '$LATEST'; functionError: string } | null;
  version: '1.0';
  timestamp: string;
  KafkaBatchInfo: {
    batchSize: number;
    /** Present for MSK only: a self-managed cluster has no ARN. */
    eventSourceArn?: string;
    bootstrapServers: string;
    payloadSize: number;
    recordsInfo: Record<string, RecordsInfoEntry>;
  };
}

/** What is known about a failed batch when its record is written. */
export interface FailureDetails {
  requestId: string;
  functionArn: string;
  source: EventSourceInfo;
  condition: FailureCondition;
  /** Invocations made for this batch (0 when it was too large to invoke). */
  approximateInvokeCount: number;
  /** The last failed invocation's response; none for MaximumPayloadSizeExceeded. */
  response?: { statusCode: number | undefined; functionError: string };
  batchSize: number;
  payloadBytes: number;
  partitions: ReadonlyMap<string, PartitionRange>;
  now: Date;
}

/** Builds the on-failure record of a batch. Pure. */
export function buildFailureRecord(details: FailureDetails): KafkaFailureRecord {
  const recordsInfo: Record<string, RecordsInfoEntry> = {};
  for (const [key, { first, last }] of details.partitions) {
    recordsInfo[key] = {
      firstRecordOffset: String(first.offset),
      lastRecordOffset: String(last.offset),
      firstRecordTimestamp: new Date(first.timestamp).toISOString(),
      lastRecordTimestamp: new Date(last.timestamp).toISOString(),
    };
  }
  return {
    requestContext: {
      requestId: details.requestId,
      functionArn: details.functionArn,
      condition: details.condition,
      approximateInvokeCount: details.approximateInvokeCount,
    },
    responseContext:
      details.response === undefined
        ? null
        : {
            // No HTTP response at all (the endpoint was unreachable) is reported as 0.
            statusCode: details.response.statusCode ?? 0,
            executedVersion: '$LATEST',
            functionError: details.response.functionError,
          },
    version: '1.0',
    timestamp: details.now.toISOString(),
    KafkaBatchInfo: {
      batchSize: details.batchSize,
      ...(details.source.kind === 'msk' ? { eventSourceArn: details.source.eventSourceArn } : {}),
      bootstrapServers: details.source.bootstrapServers,
      payloadSize: details.payloadBytes,
      recordsInfo,
    },
  };
}

/** Delivers an on-failure record to the destination `destinationArn`. */
export type SendToDestination = (
  destinationArn: string,
  record: KafkaFailureRecord,
  signal: AbortSignal,
) => Promise<void>;

/** An SQS queue ARN's parts. */
export interface SqsArn {
  region: string;
  accountId: string;
  queueName: string;
}

/** Parses `arn:aws:sqs:<region>:<account>:<queue>`; undefined for anything else. */
export function parseSqsArn(arn: string): SqsArn | undefined {
  const match = /^arn:aws[a-z-]*:sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_.-]+)$/.exec(arn);
  if (match === null) return undefined;
  const [, region, accountId, queueName] = match;
  if (region === undefined || accountId === undefined || queueName === undefined) return undefined;
  return { region, accountId, queueName };
}

/** Sends on-failure records to SQS queues (or, offline, their folders). */
export interface Destination {
  send: SendToDestination;
  close(): void;
}

/**
 * SQS destinations at `endpoint` (LocalStack offline). Each queue is looked up by name in its ARN's
 * region, once, since an emulator's queue URL does not follow AWS's URL scheme.
 */
export function createSqsDestination(options: {
  endpoint?: string;
  credentials?: StaticCredentials;
}): Destination {
  const clients = new Map<string, SQSClient>();
  const queueUrls = new Map<string, string>();

  const clientFor = (region: string): SQSClient => {
    let client = clients.get(region);
    if (client === undefined) {
      client = new SQSClient(clientConfig({ ...options, region }));
      clients.set(region, client);
    }
    return client;
  };

  return {
    send: async (destinationArn, record, signal) => {
      const arn = parseSqsArn(destinationArn);
      if (arn === undefined) throw new Error(`not an SQS queue ARN: ${destinationArn}`);
      const client = clientFor(arn.region);
      let queueUrl = queueUrls.get(destinationArn);
      if (queueUrl === undefined) {
        const found = await client.send(new GetQueueUrlCommand({ QueueName: arn.queueName }), {
          abortSignal: signal,
        });
        if (found.QueueUrl === undefined) throw new Error(`no URL for queue ${arn.queueName}`);
        queueUrl = found.QueueUrl;
        queueUrls.set(destinationArn, queueUrl);
      }
      // A FIFO queue refuses messages without a group; one group per function keeps them in order.
      const fifo = arn.queueName.endsWith('.fifo')
        ? {
            MessageGroupId: record.requestContext.functionArn,
            MessageDeduplicationId: record.requestContext.requestId,
          }
        : {};
      await client.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(record), ...fifo }),
        { abortSignal: signal },
      );
    },
    close: () => {
      for (const client of clients.values()) client.destroy();
    },
  };
}

/**
 * Each SQS destination as a folder, `<dir>/<queue name>/`, one JSON file per record (the project's
 * directory queue, functions/lib/message-queue.ts): for an emulator that keeps nothing across a
 * restart (LocalStack community), where a failed batch's record must outlive it.
 */
export function createDirectoryDestination(dir: string): Destination {
  return {
    send: async (destinationArn, record) => {
      const arn = parseSqsArn(destinationArn);
      if (arn === undefined) throw new Error(`not an SQS queue ARN: ${destinationArn}`);
      await directoryQueue(path.join(dir, arn.queueName)).send([{ body: JSON.stringify(record) }]);
    },
    close: () => undefined,
  };
}
