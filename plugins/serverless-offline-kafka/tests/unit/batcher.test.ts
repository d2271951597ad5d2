import { describe, expect, it } from 'vitest';
import { Batcher } from '#plugin/batcher.ts';
import type { SizedRecord } from '#plugin/batcher.ts';
import { buildEvent, eventSizes, jsonBytes, MAX_PAYLOAD_BYTES } from '#plugin/event-builder.ts';
import type { EventSourceInfo, LambdaKafkaRecord } from '#plugin/event-builder.ts';

const source: EventSourceInfo = {
  kind: 'msk',
  eventSourceArn: 'arn:aws:kafka:us-east-1:000000000000:cluster/c/1',
  bootstrapServers: '127.0.0.1:9092',
};

function sized(partition: number, offset: number, valueBytes = 10): SizedRecord {
  const record: LambdaKafkaRecord = {
    topic: 'users',
    partition,
    offset,
    timestamp: 1_700_000_000_000 + offset,
    timestampType: 'CREATE_TIME',
    key: Buffer.from(`k${offset}`).toString('base64'),
    // Base64 of `valueBytes` bytes; 'é' in the header makes multi-byte UTF-8 count.
    value: Buffer.alloc(valueBytes, 7).toString('base64'),
    headers: [{ tràce: [1, -2, 3] }],
  };
  return { record, bytes: jsonBytes(record) };
}

const batcher = (limits: Partial<{ batchSize: number; maxBytes: number; windowMs: number }> = {}): Batcher =>
  new Batcher(
    { batchSize: 100, maxBytes: MAX_PAYLOAD_BYTES, windowMs: 500, ...limits },
    eventSizes.envelope(source),
  );

describe('batcher: batchSize', () => {
  it('takes batchSize records, then is full and due', () => {
    const b = batcher({ batchSize: 3, windowMs: 10_000 });
    for (let i = 0; i < 3; i++) {
      expect(b.fits(sized(0, i)), `record ${i}`).toBe(true);
      b.add(sized(0, i), 0);
    }
    expect(b.count).toBe(3);
    expect(b.isFull).toBe(true);
    expect(b.fits(sized(0, 3))).toBe(false);
    expect(b.dueIn(0)).toBe(0);
    expect(() => {
      b.add(sized(0, 3), 0);
    }).toThrow(/does not fit/);
  });

  it('starts a new empty batch when sealed', () => {
    const b = batcher({ batchSize: 2 });
    b.add(sized(0, 0), 0);
    b.add(sized(1, 1), 0);
    const sealed = b.seal();
    expect(sealed.records.map((r) => r.offset)).toEqual([0, 1]);
    expect([...sealed.partitions.keys()]).toEqual(['users-0', 'users-1']);
    expect(b.isEmpty).toBe(true);
    expect(b.count).toBe(0);
    expect(b.bytes).toBe(eventSizes.envelope(source));
    expect(b.dueIn(0)).toBeUndefined();
  });
});

describe('batcher: batching window', () => {
  it('is due maximumBatchingWindow after the first record, whatever came later', () => {
    const b = batcher({ windowMs: 500 });
    expect(b.dueIn(1_000)).toBeUndefined();
    b.add(sized(0, 0), 1_000);
    expect(b.dueIn(1_000)).toBe(500);
    b.add(sized(1, 1), 1_300);
    expect(b.dueIn(1_300)).toBe(200);
    expect(b.dueIn(1_499)).toBe(1);
    expect(b.dueIn(1_500)).toBe(0);
    expect(b.dueIn(9_999)).toBe(0);
  });

  it('is due at once with a zero window', () => {
    const b = batcher({ windowMs: 0 });
    b.add(sized(0, 0), 42);
    expect(b.dueIn(42)).toBe(0);
  });
});

describe('batcher: payload size', () => {
  it('knows the exact size of the event it would make, across partitions', () => {
    const b = batcher();
    const items = [sized(0, 0), sized(2, 1, 300), sized(0, 2), sized(1, 3, 0), sized(2, 4)];
    for (const item of items) {
      expect(b.bytesWith(item)).toBeGreaterThan(b.bytes);
      b.add(item, 0);
    }
    const sealed = b.seal();
    const exact = jsonBytes(buildEvent(source, sealed.records));
    expect(sealed.payloadBytes).toBe(exact);
  });

  it('refuses the record that would take the event past 6 MB', () => {
    const b = batcher({ batchSize: 10_000 });
    const oneMiB = 1024 * 1024;
    let offset = 0;
    while (b.fits(sized(offset % 2, offset, oneMiB))) {
      b.add(sized(offset % 2, offset, oneMiB), 0);
      offset++;
    }
    // Base64 makes 1 MiB into 1.33 MiB, so four fit and the fifth would pass 6 MiB.
    expect(b.count).toBe(4);
    expect(b.bytes).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(b.bytesWith(sized(0, offset, oneMiB))).toBeGreaterThan(MAX_PAYLOAD_BYTES);
    const bytes = b.bytes;
    expect(jsonBytes(buildEvent(source, b.seal().records))).toBe(bytes);
  });

  it('accepts a record that makes the event exactly the limit, not one byte more', () => {
    const item = sized(0, 0);
    const exact = eventSizes.envelope(source) + eventSizes.group('users-0') + item.bytes;
    expect(batcher({ maxBytes: exact }).isOversize(item)).toBe(false);
    expect(batcher({ maxBytes: exact }).fits(item)).toBe(true);
    expect(batcher({ maxBytes: exact - 1 }).isOversize(item)).toBe(true);
    expect(batcher({ maxBytes: exact - 1 }).fits(item)).toBe(false);
  });

  it('tells a single record that can never be delivered (over 6 MB alone)', () => {
    const b = batcher();
    const huge = sized(0, 0, 5 * 1024 * 1024);
    expect(b.aloneBytes(huge)).toBeGreaterThan(MAX_PAYLOAD_BYTES);
    expect(b.isOversize(huge)).toBe(true);
    expect(b.fits(huge)).toBe(false);
    expect(b.isOversize(sized(0, 0, 4 * 1024 * 1024))).toBe(false);
  });
});
