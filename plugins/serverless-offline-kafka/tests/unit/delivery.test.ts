import { describe, expect, it } from 'vitest';
import type { SizedRecord } from '#plugin/batcher.ts';
import { backoffMs, Delivery, DeliveryAbandoned } from '#plugin/delivery.ts';
import type { DeliveryMapping } from '#plugin/delivery.ts';
import { jsonBytes } from '#plugin/event-builder.ts';
import type { LambdaKafkaEvent, LambdaKafkaRecord } from '#plugin/event-builder.ts';
import type { InvokeOutcome } from '#plugin/invoker.ts';
import type { KafkaFailureRecord } from '#plugin/on-failure.ts';

const DLQ = 'arn:aws:sqs:us-east-1:000000000000:dlq';

const mapping = (overrides: Partial<DeliveryMapping> = {}): DeliveryMapping => ({
  label: 'functions.sink.events[0].msk',
  functionName: 'svc-local-sink',
  functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:svc-local-sink',
  source: {
    kind: 'msk',
    eventSourceArn: 'arn:aws:kafka:us-east-1:000000000000:cluster/c/1',
    bootstrapServers: 'b:9092',
  },
  batchSize: 100,
  maximumBatchingWindowMs: 20,
  maxPayloadBytes: 6_291_456,
  maximumRetryAttempts: 2,
  retryBackoff: { initialMs: 1, maxMs: 4 },
  onFailureDestination: DLQ,
  ...overrides,
});

function sized(partition: number, offset: number, value = `v${offset}`): SizedRecord {
  const record: LambdaKafkaRecord = {
    topic: 'users',
    partition,
    offset,
    timestamp: Date.UTC(2026, 0, 1) + offset,
    timestampType: 'CREATE_TIME',
    value: Buffer.from(value).toString('base64'),
    headers: [],
  };
  return { record, bytes: jsonBytes(record) };
}

interface Harness {
  delivery: Delivery;
  events: LambdaKafkaEvent[];
  sent: { arn: string; record: KafkaFailureRecord }[];
  logs: { level: string; message: string }[];
}

function harness(
  m: DeliveryMapping,
  outcome: (event: LambdaKafkaEvent, call: number) => InvokeOutcome | Promise<InvokeOutcome>,
  send: (call: number) => Promise<void> = () => Promise.resolve(),
  now?: () => number,
): Harness {
  const events: LambdaKafkaEvent[] = [];
  const sent: Harness['sent'] = [];
  const logs: Harness['logs'] = [];
  let sends = 0;
  const delivery = new Delivery({
    mapping: m,
    invoke: (event) => {
      events.push(event as LambdaKafkaEvent);
      return Promise.resolve(outcome(event as LambdaKafkaEvent, events.length));
    },
    sendToDestination: async (arn, record) => {
      await send(++sends);
      sent.push({ arn, record });
    },
    log: {
      error: (message) => logs.push({ level: 'error', message }),
      warning: (message) => logs.push({ level: 'warning', message }),
      info: (message) => logs.push({ level: 'info', message }),
    },
    requestId: () => 'req-1',
    ...(now === undefined ? {} : { now }),
  });
  return { delivery, events, sent, logs };
}

const ok: InvokeOutcome = { ok: true, statusCode: 200 };
const unhandled: InvokeOutcome = { ok: false, statusCode: 200, functionError: 'Unhandled', message: 'boom' };

describe('delivery: batching and order', () => {
  it('puts records of several partitions, enqueued apart, into one event within the window', async () => {
    const h = harness(mapping({ maximumBatchingWindowMs: 50 }), () => ok);
    await Promise.all([h.delivery.enqueue([sized(0, 0), sized(0, 1)]), h.delivery.enqueue([sized(1, 7)])]);
    expect(h.events).toHaveLength(1);
    expect(h.events[0]?.records).toEqual({
      'users-0': [sized(0, 0).record, sized(0, 1).record],
      'users-1': [sized(1, 7).record],
    });
    expect(h.logs).toEqual([
      { level: 'info', message: expect.stringContaining('invoked with 3 records') as unknown },
    ]);
    await h.delivery.stop();
  });

  it('splits at batchSize and invokes one batch at a time, in order', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const h = harness(mapping({ batchSize: 2 }), async () => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return ok;
    });
    await h.delivery.enqueue([0, 1, 2, 3, 4].map((o) => sized(0, o)));
    expect(h.events.map((e) => e.records['users-0']?.map((r) => r.offset))).toEqual([[0, 1], [2, 3], [4]]);
    expect(maxInFlight).toBe(1);
    await h.delivery.stop();
  });
});

describe('delivery: failures', () => {
  it('retries maximumRetryAttempts times, then sends the AWS on-failure record and resolves', async () => {
    const h = harness(mapping(), () => unhandled);
    await h.delivery.enqueue([sized(0, 3), sized(0, 4), sized(2, 9)]);
    expect(h.events).toHaveLength(3);
    expect(h.events[2]).toEqual(h.events[0]);
    expect(h.sent).toHaveLength(1);
    const { arn, record } = h.sent[0] ?? { arn: '', record: undefined };
    expect(arn).toBe(DLQ);
    expect(record).toEqual({
      requestContext: {
        requestId: 'req-1',
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:svc-local-sink',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as unknown,
      KafkaBatchInfo: {
        batchSize: 3,
        eventSourceArn: 'arn:aws:kafka:us-east-1:000000000000:cluster/c/1',
        bootstrapServers: 'b:9092',
        payloadSize: jsonBytes(h.events[0]),
        recordsInfo: {
          'users-0': {
            firstRecordOffset: '3',
            lastRecordOffset: '4',
            firstRecordTimestamp: '2026-01-01T00:00:00.003Z',
            lastRecordTimestamp: '2026-01-01T00:00:00.004Z',
          },
          'users-2': {
            firstRecordOffset: '9',
            lastRecordOffset: '9',
            firstRecordTimestamp: '2026-01-01T00:00:00.009Z',
            lastRecordTimestamp: '2026-01-01T00:00:00.009Z',
          },
        },
      },
    });
    await h.delivery.stop();
  });

  it('succeeds on a retry without reporting anything', async () => {
    const h = harness(mapping(), (_event, call) => (call < 3 ? unhandled : ok));
    await h.delivery.enqueue([sized(0, 0)]);
    expect(h.events).toHaveLength(3);
    expect(h.sent).toEqual([]);
    expect(h.logs.at(-1)?.message).toContain('on attempt 3');
    await h.delivery.stop();
  });

  it('without a destination, logs the skipped batch as an error and moves on', async () => {
    const { onFailureDestination: _unused, ...withoutDestination } = mapping({ maximumRetryAttempts: 0 });
    const h = harness(withoutDestination, () => unhandled);
    await h.delivery.enqueue([sized(1, 5)]);
    expect(h.events).toHaveLength(1);
    expect(h.sent).toEqual([]);
    expect(h.logs.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
      expect.stringContaining('skipping 1 records (users-1@5)'),
    ]);
    await h.delivery.stop();
  });

  it('keeps sending the on-failure record until the destination takes it', async () => {
    const h = harness(
      mapping({ maximumRetryAttempts: 0 }),
      () => unhandled,
      (call) => (call < 3 ? Promise.reject(new Error('queue down')) : Promise.resolve()),
    );
    await h.delivery.enqueue([sized(0, 0)]);
    expect(h.sent).toHaveLength(1);
    expect(h.logs.filter((l) => l.message.includes('queue down'))).toHaveLength(2);
    await h.delivery.stop();
  });

  it('sends a record too large for any event to the destination without invoking', async () => {
    const m = mapping({ maxPayloadBytes: 600 });
    const h = harness(m, () => ok);
    await h.delivery.enqueue([sized(0, 0), sized(0, 1, 'x'.repeat(600)), sized(0, 2)]);
    expect(h.events.map((e) => e.records['users-0']?.map((r) => r.offset))).toEqual([[0], [2]]);
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]?.record.requestContext).toMatchObject({
      condition: 'MaximumPayloadSizeExceeded',
      approximateInvokeCount: 0,
    });
    expect(h.sent[0]?.record.responseContext).toBeNull();
    expect(h.sent[0]?.record.KafkaBatchInfo.payloadSize).toBeGreaterThan(600);
    await h.delivery.stop();
  });
});

describe('delivery: record age', () => {
  // The records of `sized` carry timestamps from 2026-01-01T00:00:00.000Z on. The clock is the test's
  // own, so each batch is exactly batchSize records: a window would never pass on a frozen clock.
  const start = Date.UTC(2026, 0, 1);

  it('sends a batch whose oldest record is past maximumRecordAgeMs to the destination, uninvoked', async () => {
    const m = mapping({ batchSize: 2, maximumRecordAgeMs: 60_000 });
    const h = harness(
      m,
      () => ok,
      undefined,
      () => start + 60_001,
    );
    await h.delivery.enqueue([sized(0, 0), sized(0, 1)]);
    expect(h.events).toEqual([]);
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]?.record.requestContext).toMatchObject({
      condition: 'RecordAgeExceeded',
      approximateInvokeCount: 0,
    });
    expect(h.sent[0]?.record.responseContext).toBeNull();
    expect(h.sent[0]?.record.KafkaBatchInfo.batchSize).toBe(2);
    await h.delivery.stop();
  });

  it('invokes a batch just within the age', async () => {
    const m = mapping({ batchSize: 1, maximumRecordAgeMs: 60_000 });
    const h = harness(
      m,
      () => ok,
      undefined,
      () => start + 60_000,
    );
    await h.delivery.enqueue([sized(0, 0)]);
    expect(h.events).toHaveLength(1);
    expect(h.sent).toEqual([]);
    await h.delivery.stop();
  });

  it('stops retrying once the batch has aged past the limit, and reports the last failure', async () => {
    let clock = start;
    const m = mapping({ batchSize: 1, maximumRetryAttempts: 10, maximumRecordAgeMs: 60_000 });
    // Each failed attempt takes 40 s: the first at 0 s, the second at 40 s, and at 80 s the record
    // is too old for a third, well before the ten retries run out.
    const h = harness(
      m,
      () => {
        clock += 40_000;
        return unhandled;
      },
      undefined,
      () => clock,
    );
    await h.delivery.enqueue([sized(0, 0)]);
    expect(h.events).toHaveLength(2);
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]?.record.requestContext).toMatchObject({
      condition: 'RecordAgeExceeded',
      approximateInvokeCount: 2,
    });
    expect(h.sent[0]?.record.responseContext).toEqual({
      statusCode: 200,
      executedVersion: '$LATEST',
      functionError: 'Unhandled',
    });
    await h.delivery.stop();
  });
});

describe('delivery: stopping', () => {
  it('abandons the in-flight batch and the waiting ones, and refuses new records', async () => {
    let release: (() => void) | undefined;
    const h = harness(mapping({ batchSize: 1 }), async () => {
      await new Promise<void>((resolve) => (release = resolve));
      return ok;
    });
    const first = h.delivery.enqueue([sized(0, 0)]);
    const second = h.delivery.enqueue([sized(0, 1)]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(h.events).toHaveLength(1);
    const stopped = h.delivery.stop();
    release?.();
    await stopped;
    await expect(first).rejects.toBeInstanceOf(DeliveryAbandoned);
    await expect(second).rejects.toBeInstanceOf(DeliveryAbandoned);
    await expect(h.delivery.enqueue([sized(0, 2)])).rejects.toBeInstanceOf(DeliveryAbandoned);
    expect(h.events).toHaveLength(1);
  });
});

describe('delivery: backoff', () => {
  it('doubles from initialMs up to maxMs', () => {
    const backoff = { initialMs: 100, maxMs: 1_000 };
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffMs(a, backoff))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });
});
