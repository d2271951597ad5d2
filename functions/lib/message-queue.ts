import { randomBytes } from 'node:crypto';
import { readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { syncDirectory, TEMP_SUFFIX, writeFileAtomic } from './atomic-file.ts';
import { clientConfig, type AwsSettings } from './aws.ts';
import { lazy } from './once.ts';

/** A message to send: its body, and string attributes SQS shows beside it (informational only). */
export interface OutgoingMessage {
  readonly body: string;
  readonly attributes?: Readonly<Record<string, string>>;
}

/** A message read from a queue; `handle` deletes or releases it. */
export interface QueueMessage {
  readonly body: string;
  readonly handle: string;
}

/** How many messages a queue holds: visible, and held by a reader. */
export interface QueueCount {
  readonly visible: number;
  readonly inFlight: number;
}

/**
 * A queue of the pipeline's (the sink's dead letters, the failed batches): SQS on AWS, a folder on the
 * local stage (directoryQueue), since the local AWS emulator keeps nothing across a restart and a
 * dead letter is data.
 */
export interface MessageQueue {
  /** Up to ten messages, sent at once; throws when any is not accepted. */
  send(messages: readonly OutgoingMessage[]): Promise<void>;
  /** Up to `limit` messages, oldest first where the store knows; each hidden for `hideSeconds` on SQS. */
  receive(limit: number, hideSeconds: number): Promise<QueueMessage[]>;
  /** Makes received messages visible again at once. */
  release(messages: readonly QueueMessage[]): Promise<void>;
  /** Deletes received messages; throws when any could not be. */
  delete(messages: readonly QueueMessage[]): Promise<void>;
  count(): Promise<QueueCount>;
}

/** The SQS client, created on first use and kept for the life of the container. */
export const sqsClient = lazy((settings: AwsSettings) => new SQSClient(clientConfig(settings)));

/** In groups of ten, SQS's most per batch request. */
async function inTens<T>(items: readonly T[], each: (slice: readonly T[]) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += 10) await each(items.slice(i, i + 10));
}

/** The queue at `queueUrl` on SQS. Reading hides messages (SQS's visibility timeout) until released. */
export function sqsQueue(sqs: Pick<SQSClient, 'send'>, queueUrl: string): MessageQueue {
  return {
    async send(messages) {
      const result = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((message, index) => ({
            Id: String(index),
            MessageBody: message.body,
            MessageAttributes: Object.fromEntries(
              Object.entries(message.attributes ?? {}).map(([name, value]) => [
                name,
                { DataType: 'String', StringValue: value },
              ]),
            ),
          })),
        }),
      );
      const failed = result.Failed?.length ?? 0;
      if (failed > 0) throw new Error(`${queueUrl} refused ${failed} messages`);
    },
    async receive(limit, hideSeconds) {
      const received: QueueMessage[] = [];
      while (received.length < limit) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            VisibilityTimeout: hideSeconds,
          }),
        );
        if (Messages.length === 0) break;
        received.push(...Messages.map((m) => ({ body: m.Body ?? '', handle: m.ReceiptHandle ?? '' })));
      }
      // A receive brings up to ten: give back what is over the limit.
      if (received.length > limit) await this.release(received.splice(limit));
      return received;
    },
    async release(messages) {
      await inTens(messages, async (slice) => {
        await sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queueUrl,
            Entries: slice.map((m, index) => ({
              Id: String(index),
              ReceiptHandle: m.handle,
              VisibilityTimeout: 0,
            })),
          }),
        );
      });
    },
    async delete(messages) {
      await inTens(messages, async (slice) => {
        const deleted = await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: slice.map((m, index) => ({ Id: String(index), ReceiptHandle: m.handle })),
          }),
        );
        const failed = deleted.Failed?.length ?? 0;
        if (failed > 0) throw new Error(`could not delete ${failed} messages from ${queueUrl}`);
      });
    },
    async count() {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return {
        visible: Number(Attributes?.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
      };
    },
  };
}

/** A message file's name: the time it was sent (ms, fixed width, so names sort by it), then a unique tail. */
const messageFileName = (now: number): string =>
  `${String(now).padStart(15, '0')}-${randomBytes(8).toString('hex')}.json`;

const isMessageFile = (name: string): boolean => name.endsWith('.json') && !name.endsWith(TEMP_SUFFIX);

/**
 * A queue in a folder (the local stage): one JSON file per message, its body, named by the time it
 * was sent, written atomically; reading lists them oldest first, deleting unlinks. Nothing is hidden
 * while read (one machine, one operator: `release` does nothing). Attributes are not kept: the body
 * holds what they repeat. It survives any restart of the stack's services.
 */
export function directoryQueue(dir: string, now: () => number = Date.now): MessageQueue {
  const names = async (): Promise<string[]> => {
    try {
      return (await readdir(dir)).filter(isMessageFile).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  };
  return {
    async send(messages) {
      for (const message of messages)
        await writeFileAtomic(path.join(dir, messageFileName(now())), message.body);
    },
    async receive(limit) {
      const received: QueueMessage[] = [];
      for (const name of (await names()).slice(0, limit)) {
        try {
          received.push({ body: await readFile(path.join(dir, name), 'utf8'), handle: name });
        } catch (error) {
          // Deleted since the listing (by a replay elsewhere): no longer in the queue.
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
      return received;
    },
    release: () => Promise.resolve(),
    async delete(messages) {
      for (const { handle } of messages) {
        await unlink(path.join(dir, path.basename(handle))).catch((error: unknown) => {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        });
      }
      if (messages.length > 0) await syncDirectory(dir);
    },
    async count() {
      return { visible: (await names()).length, inFlight: 0 };
    },
  };
}

/** The queue's name: the last part of its URL (SQS's and the emulator's alike). */
export const queueNameOf = (queueUrl: string): string => new URL(queueUrl).pathname.split('/').at(-1) ?? '';

/** What choosing a queue needs from a function's settings. */
export interface QueueSettings extends AwsSettings {
  /** The local stage's durable store (config.ts): a queue is then `<LOCAL_STORE_DIR>/<queue name>`. */
  readonly LOCAL_STORE_DIR?: string | undefined;
}

/** The queue at `queueUrl`: its folder when LOCAL_STORE_DIR is set, else SQS. */
export function queueOf(settings: QueueSettings, queueUrl: string): MessageQueue {
  return settings.LOCAL_STORE_DIR === undefined
    ? sqsQueue(sqsClient(settings), queueUrl)
    : directoryQueue(path.join(settings.LOCAL_STORE_DIR, queueNameOf(queueUrl)));
}
