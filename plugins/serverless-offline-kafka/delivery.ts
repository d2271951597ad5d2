/**
 * Delivery of one mapping's records to its function, as the event-source mapping does it: records from
 * every partition join one open batch; a batch is invoked when it is full, would pass the payload
 * limit, or its batching window has passed; one invocation at a time, so that each partition's order
 * holds; a failed batch is retried with backoff, then reported to the on-failure destination (or logged
 * and skipped). Every record's promise settles only when its batch is done with, which is when the
 * poller may commit its offset.
 *
 * I/O comes through injected ports (invoke, send to destination), so this runs without Kafka or HTTP.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Batcher } from './batcher.ts';
import type { SealedBatch, SizedRecord } from './batcher.ts';
import type { MappingDefinition } from './config.ts';
import { buildEvent, eventSizes, topicPartitionKey } from './event-builder.ts';
import type { InvokeFunction, InvokeOutcome } from './invoker.ts';
import { buildFailureRecord } from './on-failure.ts';
import type { FailureCondition, SendToDestination } from './on-failure.ts';

/** The log levels delivery writes to. */
export interface DeliveryLog {
  error(message: string): void;
  warning(message: string): void;
  info(message: string): void;
}

/** The part of a mapping that delivery uses. */
export type DeliveryMapping = Pick<
  MappingDefinition,
  | 'label'
  | 'functionName'
  | 'functionArn'
  | 'source'
  | 'batchSize'
  | 'maximumBatchingWindowMs'
  | 'maxPayloadBytes'
  | 'maximumRetryAttempts'
  | 'maximumRecordAgeMs'
  | 'retryBackoff'
  | 'onFailureDestination'
>;

/** Everything delivery needs; `now` and `requestId` are replaceable for tests. */
export interface DeliveryOptions {
  mapping: DeliveryMapping;
  invoke: InvokeFunction;
  sendToDestination: SendToDestination;
  log: DeliveryLog;
  now?: () => number;
  requestId?: () => string;
}

/** The rejection of records given up because the mapping stopped: they must not be committed. */
export class DeliveryAbandoned extends Error {
  /** The records stay uncommitted and are read again on the next start. */
  constructor() {
    super('the mapping stopped before these records were delivered');
    this.name = 'DeliveryAbandoned';
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Whoever enqueued the records awaits this; the no-op keeps an abandoned batch without a listener
  // from being reported as an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

interface Pending {
  kind: 'batch' | 'oversize';
  batch: SealedBatch;
  done: Deferred;
}

/** `users-0@10..19, users-1@3` — where a batch's records are, for log lines. */
export function describeBatch(batch: SealedBatch): string {
  return [...batch.partitions]
    .map(([key, { first, last }]) =>
      first.offset === last.offset ? `${key}@${first.offset}` : `${key}@${first.offset}..${last.offset}`,
    )
    .join(', ');
}

/** Exponential backoff for attempt `attempt` (1-based) of the same batch. */
export const backoffMs = (attempt: number, backoff: { initialMs: number; maxMs: number }): number =>
  Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, attempt - 1));

/** The serial delivery of one mapping; see the module comment. */
export class Delivery {
  readonly #mapping: DeliveryMapping;
  readonly #invoke: InvokeFunction;
  readonly #send: SendToDestination;
  readonly #log: DeliveryLog;
  readonly #now: () => number;
  readonly #requestId: () => string;
  readonly #batcher: Batcher;
  readonly #abort = new AbortController();
  readonly #sealed: Pending[] = [];
  #open: Deferred | undefined;
  #wake: (() => void) | undefined;
  #stopping = false;
  readonly #loop: Promise<void>;

  /** Starts the delivery loop; it idles until records arrive. */
  constructor(options: DeliveryOptions) {
    this.#mapping = options.mapping;
    this.#invoke = options.invoke;
    this.#send = options.sendToDestination;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#requestId = options.requestId ?? randomUUID;
    this.#batcher = new Batcher(
      {
        batchSize: options.mapping.batchSize,
        maxBytes: options.mapping.maxPayloadBytes,
        windowMs: options.mapping.maximumBatchingWindowMs,
      },
      eventSizes.envelope(options.mapping.source),
    );
    this.#loop = this.#run();
  }

  /**
   * Adds records (in offset order per partition) and resolves once every one of them is done with:
   * delivered, or reported to the destination, or logged and skipped. Rejects with DeliveryAbandoned
   * when the mapping stops first.
   */
  enqueue(items: readonly SizedRecord[]): Promise<void> {
    if (this.#stopping) return Promise.reject(new DeliveryAbandoned());
    const waits = new Set<Promise<void>>();
    for (const item of items) {
      if (this.#batcher.isOversize(item)) {
        // Records of the same partition already in the open batch go first.
        this.#sealOpen();
        const key = topicPartitionKey(item.record.topic, item.record.partition);
        const done = deferred();
        this.#sealed.push({
          kind: 'oversize',
          batch: {
            records: [item.record],
            payloadBytes: this.#batcher.aloneBytes(item),
            partitions: new Map([[key, { first: item.record, last: item.record }]]),
          },
          done,
        });
        waits.add(done.promise);
        continue;
      }
      if (!this.#batcher.fits(item)) this.#sealOpen();
      this.#batcher.add(item, this.#now());
      this.#open ??= deferred();
      waits.add(this.#open.promise);
      if (this.#batcher.isFull) this.#sealOpen();
    }
    this.#wake?.();
    return Promise.all(waits).then(() => undefined);
  }

  /**
   * Stops: the in-flight invocation is aborted (or its result ignored), and every record not yet done
   * with is rejected with DeliveryAbandoned, so that none of them is committed.
   */
  async stop(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      this.#abort.abort();
      this.#wake?.();
      const abandoned = new DeliveryAbandoned();
      for (const pending of this.#sealed.splice(0)) pending.done.reject(abandoned);
      this.#open?.reject(abandoned);
      this.#open = undefined;
      this.#batcher.seal();
    }
    await this.#loop;
  }

  #sealOpen(): void {
    if (this.#batcher.isEmpty || this.#open === undefined) return;
    this.#sealed.push({ kind: 'batch', batch: this.#batcher.seal(), done: this.#open });
    this.#open = undefined;
  }

  /** Waits for `enqueue`/`stop`, or `ms` milliseconds when given. */
  #idle(ms: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      if (ms !== undefined) timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      const next = this.#sealed.shift();
      if (next !== undefined) {
        try {
          await this.#deliver(next);
          next.done.resolve();
        } catch (error) {
          next.done.reject(this.#isStopping() ? new DeliveryAbandoned() : toError(error));
        }
        continue;
      }
      const dueIn = this.#batcher.dueIn(this.#now());
      if (dueIn === 0) this.#sealOpen();
      else await this.#idle(dueIn);
    }
  }

  // A method rather than the field, because the field changes across awaits where TypeScript's
  // narrowing assumes it cannot.
  #isStopping(): boolean {
    return this.#stopping;
  }

  #throwIfStopping(): void {
    if (this.#isStopping()) throw new DeliveryAbandoned();
  }

  async #pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.#abort.signal });
    } catch {
      // Aborted: stopping, which the caller checks.
    }
    this.#throwIfStopping();
  }

  async #deliver(pending: Pending): Promise<void> {
    const { batch } = pending;
    if (pending.kind === 'oversize') {
      this.#log.error(
        `${this.#mapping.label}: record ${describeBatch(batch)} makes an event of ${batch.payloadBytes} bytes, ` +
          `over the ${this.#mapping.maxPayloadBytes}-byte invoke payload limit; it cannot be delivered`,
      );
      await this.#discard(batch, 'MaximumPayloadSizeExceeded', 0, undefined);
      return;
    }
    const event = buildEvent(this.#mapping.source, batch.records);
    const maxRetries = this.#mapping.maximumRetryAttempts;
    let lastFailure: InvokeOutcome | undefined;
    for (let attempt = 1; ; attempt++) {
      if (this.#tooOld(batch)) {
        this.#log.warning(
          `${this.#mapping.functionName}: ${describeBatch(batch)} is older than the maximum record age ` +
            `after ${attempt - 1} attempts; not invoking it again`,
        );
        await this.#discard(batch, 'RecordAgeExceeded', attempt - 1, lastFailure);
        return;
      }
      const started = this.#now();
      const outcome = await this.#invoke(event, this.#abort.signal);
      this.#throwIfStopping();
      const took = this.#now() - started;
      if (outcome.ok) {
        this.#log.info(
          `${this.#mapping.functionName}: invoked with ${batch.records.length} records ` +
            `(${describeBatch(batch)}; ${batch.payloadBytes} bytes) in ${took} ms` +
            (attempt > 1 ? ` on attempt ${attempt}` : ''),
        );
        return;
      }
      lastFailure = outcome;
      const failure = `${outcome.functionError}: ${outcome.message}`;
      if (maxRetries !== -1 && attempt > maxRetries) {
        this.#log.warning(
          `${this.#mapping.functionName}: attempt ${attempt} failed (${failure}); ` +
            `retries exhausted for ${describeBatch(batch)}`,
        );
        await this.#discard(batch, 'RetryAttemptsExhausted', attempt, outcome);
        return;
      }
      const wait = backoffMs(attempt, this.#mapping.retryBackoff);
      this.#log.warning(
        `${this.#mapping.functionName}: attempt ${attempt} failed (${failure}) for ` +
          `${describeBatch(batch)}; retrying in ${wait} ms`,
      );
      await this.#pause(wait);
    }
  }

  /**
   * Whether the batch's oldest record is past the mapping's maximum record age. The whole batch goes
   * then: AWS documents the limit per record but not how it splits a batch, and a batch is what the
   * on-failure record describes.
   */
  #tooOld(batch: SealedBatch): boolean {
    const maxAge = this.#mapping.maximumRecordAgeMs;
    if (maxAge === undefined) return false;
    const oldest = Math.min(...batch.records.map((record) => record.timestamp));
    return this.#now() - oldest > maxAge;
  }

  /** Reports a batch to the on-failure destination, retrying until it is there; without one, logs it. */
  async #discard(
    batch: SealedBatch,
    condition: FailureCondition,
    invokeCount: number,
    outcome: InvokeOutcome | undefined,
  ): Promise<void> {
    const destination = this.#mapping.onFailureDestination;
    if (destination === undefined) {
      this.#log.error(
        `${this.#mapping.label}: ${condition}, and no on-failure destination is configured: ` +
          `skipping ${batch.records.length} records (${describeBatch(batch)})`,
      );
      return;
    }
    const record = buildFailureRecord({
      requestId: this.#requestId(),
      functionArn: this.#mapping.functionArn,
      source: this.#mapping.source,
      condition,
      approximateInvokeCount: invokeCount,
      ...(outcome === undefined || outcome.ok
        ? {}
        : { response: { statusCode: outcome.statusCode, functionError: outcome.functionError } }),
      batchSize: batch.records.length,
      payloadBytes: batch.payloadBytes,
      partitions: batch.partitions,
      now: new Date(this.#now()),
    });
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#send(destination, record, this.#abort.signal);
        this.#log.warning(
          `${this.#mapping.label}: ${condition}: sent ${describeBatch(batch)} to ${destination}`,
        );
        return;
      } catch (error) {
        this.#throwIfStopping();
        const wait = backoffMs(attempt, this.#mapping.retryBackoff);
        this.#log.error(
          `${this.#mapping.label}: could not send the on-failure record to ${destination} ` +
            `(${toError(error).message}); retrying in ${wait} ms`,
        );
        await this.#pause(wait);
      }
    }
  }
}

const toError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));
