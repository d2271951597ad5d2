import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  buildEvent,
  eventEnvelope,
  eventSizes,
  jsonBytes,
  toLambdaHeaders,
  toLambdaRecord,
} from '#plugin/event-builder.ts';
import type { LambdaKafkaRecord } from '#plugin/event-builder.ts';
import { awsMskSample, awsSelfManagedSample } from '../fixtures/aws-kafka-events.ts';

/** A message as kafkajs hands it to eachBatch, with the batch context its types leave out. */
function kafkaMessage(fields: {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | Buffer[]>;
  timestampType?: 0 | 1;
}): KafkaMessage {
  const message: KafkaMessage & { batchContext: { timestampType: number } } = {
    offset: fields.offset,
    timestamp: fields.timestamp,
    key: fields.key,
    value: fields.value,
    attributes: 0,
    headers: fields.headers ?? {},
    batchContext: { timestampType: fields.timestampType ?? 0 },
  };
  return message;
}

/** The kafkajs message the AWS sample record was made from. */
function sampleMessage(sample: LambdaKafkaRecord): KafkaMessage {
  return kafkaMessage({
    offset: String(sample.offset),
    timestamp: String(sample.timestamp),
    key: Buffer.from(sample.key ?? '', 'base64'),
    value: Buffer.from(sample.value ?? '', 'base64'),
    headers: { headerKey: Buffer.from('headerValue') },
  });
}

const onlyRecord = (records: Record<string, LambdaKafkaRecord[]>, key: string): LambdaKafkaRecord => {
  const record = records[key]?.[0];
  if (record === undefined) throw new Error(`no record under ${key}`);
  return record;
};

function expectSameRecordAsSample(built: LambdaKafkaRecord, sample: LambdaKafkaRecord): void {
  expect(Object.keys(built)).toEqual(Object.keys(sample));
  expect(built.topic).toBe(sample.topic);
  expect(built.partition).toBe(sample.partition);
  expect(built.offset).toBe(sample.offset);
  expect(built.timestamp).toBe(sample.timestamp);
  expect(built.timestampType).toBe(sample.timestampType);
  expect(built.value).toBe(sample.value);
  expect(built.headers).toEqual(sample.headers);
  // The sample's key is not canonical base64 (its last character carries stray bits), so no encoder
  // can reproduce the string; the bytes it stands for must match, in canonical base64.
  expect(Buffer.from(built.key ?? '', 'base64')).toEqual(Buffer.from(sample.key ?? '', 'base64'));
  expect(built.key).toBe(Buffer.from(sample.key ?? '', 'base64').toString('base64'));
}

describe('event builder: the AWS sample events', () => {
  it('builds the MSK sample event field by field', () => {
    const sample = onlyRecord(awsMskSample.records, 'mytopic-0');
    const event = buildEvent(
      {
        kind: 'msk',
        eventSourceArn: awsMskSample.eventSourceArn,
        bootstrapServers: awsMskSample.bootstrapServers,
      },
      [toLambdaRecord('mytopic', 0, sampleMessage(sample))],
    );

    expect(Object.keys(event)).toEqual(Object.keys(awsMskSample));
    expect(event.eventSource).toBe('aws:kafka');
    expect(event).toHaveProperty('eventSourceArn', awsMskSample.eventSourceArn);
    expect(event.bootstrapServers).toBe(awsMskSample.bootstrapServers);
    expect(Object.keys(event.records)).toEqual(['mytopic-0']);
    expect(event.records['mytopic-0']).toHaveLength(1);
    expectSameRecordAsSample(onlyRecord(event.records, 'mytopic-0'), sample);
  });

  it('builds the self-managed sample event field by field, without an eventSourceArn', () => {
    const sample = onlyRecord(awsSelfManagedSample.records, 'mytopic-0');
    const event = buildEvent({ kind: 'kafka', bootstrapServers: awsSelfManagedSample.bootstrapServers }, [
      toLambdaRecord('mytopic', 0, sampleMessage(sample)),
    ]);

    expect(Object.keys(event)).toEqual(Object.keys(awsSelfManagedSample));
    expect(event.eventSource).toBe('SelfManagedKafka');
    expect(event).not.toHaveProperty('eventSourceArn');
    expect(event.bootstrapServers).toBe(awsSelfManagedSample.bootstrapServers);
    expect(Object.keys(event.records)).toEqual(['mytopic-0']);
    expectSameRecordAsSample(onlyRecord(event.records, 'mytopic-0'), sample);
  });

  it('decodes the sample value and header to what AWS encoded', () => {
    const sample = onlyRecord(awsMskSample.records, 'mytopic-0');
    expect(Buffer.from(sample.value ?? '', 'base64').toString()).toBe('Hello, this is a test.');
    const built = toLambdaRecord('mytopic', 0, sampleMessage(sample));
    expect(Buffer.from(built.headers[0]?.['headerKey'] ?? []).toString()).toBe('headerValue');
  });
});

describe('event builder: records', () => {
  it('omits key and value when the record has none (keyless record, tombstone)', () => {
    const record = toLambdaRecord(
      't',
      3,
      kafkaMessage({ offset: '7', timestamp: '1', key: null, value: null }),
    );
    expect(record).toEqual({
      topic: 't',
      partition: 3,
      offset: 7,
      timestamp: 1,
      timestampType: 'CREATE_TIME',
      headers: [],
    });
    expect('key' in record).toBe(false);
    expect('value' in record).toBe(false);
  });

  it('reads LOG_APPEND_TIME from the batch context', () => {
    const record = toLambdaRecord(
      't',
      0,
      kafkaMessage({ offset: '0', timestamp: '5', key: null, value: Buffer.from('v'), timestampType: 1 }),
    );
    expect(record.timestampType).toBe('LOG_APPEND_TIME');
  });

  it('gives header bytes as signed numbers, as Java bytes are', () => {
    expect(toLambdaHeaders({ name: Buffer.from('ë', 'utf8') })).toEqual([{ name: [-61, -85] }]);
  });

  it('lists a repeated header once per value, and accepts string values', () => {
    expect(
      toLambdaHeaders({ trace: [Buffer.from('a'), Buffer.from('b')], kind: 'x', missing: undefined }),
    ).toEqual([{ trace: [97] }, { trace: [98] }, { kind: [120] }]);
  });

  it('groups records by topic-partition in the order given', () => {
    const rec = (partition: number, offset: number): LambdaKafkaRecord =>
      toLambdaRecord(
        'users',
        partition,
        kafkaMessage({ offset: String(offset), timestamp: '1', key: null, value: Buffer.from('v') }),
      );
    const event = buildEvent({ kind: 'kafka', bootstrapServers: 'k:9092' }, [
      rec(1, 10),
      rec(0, 4),
      rec(1, 11),
      rec(0, 5),
    ]);
    expect(Object.keys(event.records)).toEqual(['users-1', 'users-0']);
    expect(event.records['users-1']?.map((r) => r.offset)).toEqual([10, 11]);
    expect(event.records['users-0']?.map((r) => r.offset)).toEqual([4, 5]);
  });
});

describe('event builder: sizes', () => {
  it('measures the envelope as the serialized event without records', () => {
    const source = { kind: 'msk', eventSourceArn: 'arn:aws:kafka:x', bootstrapServers: 'b:1' } as const;
    expect(eventSizes.envelope(source)).toBe(JSON.stringify(eventEnvelope(source)).length);
    expect(eventSizes.group('é-0')).toBe(Buffer.byteLength('"é-0":[]'));
    expect(jsonBytes({ a: 'é' })).toBe(Buffer.byteLength('{"a":"é"}'));
  });
});
