/**
 * The Kafka side of one event-source mapping: a kafkajs consumer in the mapping's group that hands
 * each fetched partition batch to `Delivery` and commits its offsets only once delivery is done with
 * every record of it. Nothing is committed for records abandoned on stop: they are read again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import type { Admin, Consumer, EachBatchPayload, logCreator, SeekEntry } from 'kafkajs';
import type { SizedRecord } from './batcher.ts';
import type { MappingDefinition } from './config.ts';
import { Delivery, DeliveryAbandoned } from './delivery.ts';
import { jsonBytes, toLambdaRecord } from './event-builder.ts';
import type { InvokeFunction } from './invoker.ts';
import type { SendToDestination } from './on-failure.ts';

/** The log levels the poller writes to (a subset of the framework's plugin log). */
export interface PollerLog {
  error(message: string): void;
  warning(message: string): void;
  notice(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

/** A mapping and the ports it delivers through. */
export interface PollerOptions {
  mapping: MappingDefinition;
  invoke: InvokeFunction;
  sendToDestination: SendToDestination;
  log: PollerLog;
  /** How often to look for a topic that does not exist yet. */
  topicRetryMs?: number;
}

// A heartbeat every second while a batch waits for its invocation (kafkajs throttles the actual
// requests to heartbeatInterval); the session must outlive long invocations and retries.
const HEARTBEAT_EVERY_MS = 1_000;
// Bounds the wait for kafkajs to leave the group when stopping.
const DISCONNECT_TIMEOUT_MS = 10_000;

function kafkaLogs(log: PollerLog): logCreator {
  return () =>
    ({ namespace, level, log: entry }) => {
      const line = `kafkajs ${namespace}: ${entry.message}`;
      if (level === logLevel.ERROR) log.warning(line);
      else log.debug(line);
    };
}

const withTimeout = async (promise: Promise<unknown>, ms: number): Promise<void> => {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
};

/** One mapping's consumer; see the module comment. */
export class KafkaPoller {
  readonly #mapping: MappingDefinition;
  readonly #log: PollerLog;
  readonly #topicRetryMs: number;
  readonly #kafka: Kafka;
  readonly #delivery: Delivery;
  readonly #abort = new AbortController();
  #admin: Admin | undefined;
  #consumer: Consumer | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  /** Builds the client; nothing connects before `start`. */
  constructor(options: PollerOptions) {
    this.#mapping = options.mapping;
    this.#log = options.log;
    this.#topicRetryMs = options.topicRetryMs ?? 2_000;
    this.#kafka = new Kafka({
      clientId: `serverless-offline-kafka-${options.mapping.functionName}`,
      brokers: options.mapping.brokers,
      logLevel: logLevel.WARN,
      logCreator: kafkaLogs(options.log),
    });
    this.#delivery = new Delivery({
      mapping: options.mapping,
      invoke: options.invoke,
      sendToDestination: options.sendToDestination,
      log: options.log,
    });
  }

  /**
   * Connects, fixes the starting position if the group has none, joins the group and starts
   * consuming. Resolves once the consumer has joined (records produced from then on are read). Waits
   * for the topic if it does not exist yet.
   */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  /** Abandons what is in flight (uncommitted), leaves the group and disconnects. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #start(): Promise<void> {
    const m = this.#mapping;
    const admin = this.#kafka.admin();
    this.#admin = admin;
    await this.#waitForBroker(admin);
    if (this.#isStopping()) return;
    const partitions = await this.#waitForTopic(admin);
    if (this.#isStopping()) return;
    await this.#fixStartingPosition(admin);
    await admin.disconnect();
    this.#admin = undefined;
    if (this.#isStopping()) return;

    const consumer = this.#kafka.consumer({
      groupId: m.consumerGroupId,
      allowAutoTopicCreation: false,
      // A stop waits for the fetch in progress; a 1 s long poll (kafkajs: 5 s) keeps stopping quick.
      maxWaitTimeInMs: 1_000,
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.#log.error(
        `${m.label}: the Kafka consumer crashed (${payload.error.message})` +
          (payload.restart ? '; restarting' : ''),
      );
    });
    await consumer.connect();
    // Without a committed offset kafkajs starts at the beginning or the end; LATEST and AT_TIMESTAMP
    // were committed above, so this only matters for partitions added later.
    await consumer.subscribe({ topics: [m.topic], fromBeginning: m.startingPosition !== 'LATEST' });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Every partition's batch must be able to wait in the open batch at the same time, or one
      // partition would hold the others back for a whole batching window.
      partitionsConsumedConcurrently: Math.max(1, partitions),
      eachBatch: (payload) => this.#eachBatch(payload),
    });
    this.#log.notice(
      `${m.label}: ${m.functionName} ← ${m.topic} (group ${m.consumerGroupId}, ` +
        `${m.startingPosition}, batch ${m.batchSize}, window ${m.maximumBatchingWindowMs} ms)`,
    );
  }

  /** Connects, waiting for a broker that is not up yet (a stack that starts late) instead of failing. */
  async #waitForBroker(admin: Admin): Promise<void> {
    let warned = false;
    while (!this.#isStopping()) {
      try {
        await admin.connect();
        return;
      } catch (error) {
        if (!warned) {
          this.#log.warning(
            `${this.#mapping.label}: no broker at ${this.#mapping.brokers.join(',')} ` +
              `(${error instanceof Error ? error.message : String(error)}); waiting for one`,
          );
          warned = true;
        }
        await sleep(this.#topicRetryMs, undefined, { signal: this.#abort.signal }).catch(() => undefined);
      }
    }
  }

  /** The topic's partition count, once it exists. */
  async #waitForTopic(admin: Admin): Promise<number> {
    let warned = false;
    while (!this.#isStopping()) {
      try {
        const metadata = await admin.fetchTopicMetadata({ topics: [this.#mapping.topic] });
        return metadata.topics[0]?.partitions.length ?? 1;
      } catch (error) {
        if (!warned) {
          this.#log.warning(
            `${this.#mapping.label}: topic ${this.#mapping.topic} is not available ` +
              `(${error instanceof Error ? error.message : String(error)}); waiting for it`,
          );
          warned = true;
        }
        await sleep(this.#topicRetryMs, undefined, { signal: this.#abort.signal }).catch(() => undefined);
      }
    }
    return 0;
  }

  /**
   * AWS fixes the starting position when the mapping is created. Offline, the first start of a group
   * does the same by committing LATEST (the current end) or AT_TIMESTAMP (the first offset at or after
   * the timestamp) for each partition without an offset; TRIM_HORIZON is kafkajs's fromBeginning.
   */
  async #fixStartingPosition(admin: Admin): Promise<void> {
    const m = this.#mapping;
    if (m.startingPosition === 'TRIM_HORIZON') return;
    const [committed] = await admin.fetchOffsets({ groupId: m.consumerGroupId, topics: [m.topic] });
    const missing = new Set(
      (committed?.partitions ?? []).filter((p) => p.offset === '-1').map((p) => p.partition),
    );
    if (missing.size === 0) return;
    let targets: SeekEntry[];
    if (m.startingPosition === 'LATEST') {
      const offsets = await admin.fetchTopicOffsets(m.topic);
      targets = offsets.map(({ partition, high }) => ({ partition, offset: high }));
    } else {
      targets = await admin.fetchTopicOffsetsByTimestamp(m.topic, m.startingPositionTimestampMs);
    }
    const partitions = targets.filter((t) => missing.has(t.partition));
    try {
      await admin.setOffsets({ groupId: m.consumerGroupId, topic: m.topic, partitions });
    } catch (error) {
      // The group still has members (another process, or one that died within its session).
      this.#log.warning(
        `${m.label}: could not set the ${m.startingPosition} starting offsets ` +
          `(${error instanceof Error ? error.message : String(error)}); kafkajs's default applies`,
      );
    }
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const last = batch.messages.at(-1);
    if (last === undefined) return;
    const items: SizedRecord[] = batch.messages.map((message) => {
      const record = toLambdaRecord(batch.topic, batch.partition, message);
      return { record, bytes: jsonBytes(record) };
    });
    const settled = this.#delivery.enqueue(items).then(
      () => 'delivered' as const,
      (error: unknown) => {
        if (error instanceof DeliveryAbandoned) return 'abandoned' as const;
        throw error;
      },
    );
    // If a heartbeat error ends this eachBatch early, nobody awaits `settled` any more.
    settled.catch(() => undefined);
    let outcome: 'delivered' | 'abandoned' | 'tick';
    do {
      let timer: NodeJS.Timeout | undefined;
      outcome = await Promise.race([
        settled,
        new Promise<'tick'>((resolve) => {
          timer = setTimeout(() => {
            resolve('tick');
          }, HEARTBEAT_EVERY_MS);
        }),
      ]);
      clearTimeout(timer);
      // A rebalance error from here propagates to kafkajs, which rejoins; the batch is then read again.
      if (outcome === 'tick') await this.#unlessStopping(payload.heartbeat());
    } while (outcome === 'tick');
    if (outcome === 'abandoned' || this.#isStopping()) return;

    payload.resolveOffset(last.offset);
    // The committed offset is the next one to read.
    const next = (BigInt(last.offset) + 1n).toString();
    await this.#unlessStopping(
      payload.commitOffsetsIfNecessary({
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }],
      }),
    );
  }

  // A method rather than the signal's field, because it changes across awaits where TypeScript's
  // narrowing assumes it cannot.
  #isStopping(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Errors of a consumer that is being stopped say nothing: the records are read again anyway. */
  async #unlessStopping(promise: Promise<void>): Promise<void> {
    try {
      await promise;
    } catch (error) {
      if (!this.#isStopping()) throw error;
    }
  }

  async #stop(): Promise<void> {
    this.#abort.abort();
    // Abandon first: every waiting eachBatch returns without committing, so kafkajs can stop.
    await this.#delivery.stop();
    if (this.#starting !== undefined) await withTimeout(this.#starting, DISCONNECT_TIMEOUT_MS);
    if (this.#consumer !== undefined) await withTimeout(this.#consumer.disconnect(), DISCONNECT_TIMEOUT_MS);
    if (this.#admin !== undefined) await withTimeout(this.#admin.disconnect(), DISCONNECT_TIMEOUT_MS);
  }
}
