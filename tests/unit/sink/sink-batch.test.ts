import { describe, expect, it } from 'vitest';
import { TransientError } from '#lib/errors.ts';
import type { UserEvent } from '#lib/user-event.ts';
import { decodeRecord, type SchemaLookup } from '#functions/sink/decode-record.ts';
import { deadLetterOf, sqsBatches, type DeadLetter } from '#functions/sink/dead-letter.ts';
import { KafkaEvent, recordsOf } from '#functions/sink/kafka-event.ts';
import { sinkBatch, type SinkBatchDeps } from '#functions/sink/sink-batch.ts';
import { newestPerUser, upsertParams, UPSERT_USER, writeUsers } from '#functions/sink/user-table.ts';
import { awsMskSample, awsSelfManagedSample } from '#plugin/tests/fixtures/aws-kafka-events.ts';
import {
  kafkaRecord,
  mskEvent,
  userEvent,
  userEventRecord,
  userEventType,
} from '#tests/fixtures/kafka-events.ts';

const SCHEMA_ID = 7;
const schemaFor: SchemaLookup = (id) =>
  id === SCHEMA_ID
    ? Promise.resolve(userEventType)
    : Promise.reject(Object.assign(new Error('Not Found'), { status: 404 }));

describe('the Kafka event envelope', () => {
  it('parses the AWS documentation sample events, MSK and self-managed, keeping every record field', () => {
    for (const sample of [awsMskSample, awsSelfManagedSample]) {
      const parsed = KafkaEvent.parse(sample);
      expect(recordsOf(parsed)).toEqual(awsMskSample.records['mytopic-0']);
    }
  });

  it('refuses an event that is not a Kafka event', () => {
    expect(KafkaEvent.safeParse({ Records: [{ eventSource: 'aws:sqs' }] }).success).toBe(false);
    expect(KafkaEvent.safeParse({ ...awsMskSample, eventSourceArn: undefined }).success).toBe(false);
  });

  it('orders each partition by offset, and accepts signed header bytes as AWS sends them', () => {
    const event = mskEvent([
      kafkaRecord({ value: null, offset: 9, headers: [{ name: [-61, -85] }] }),
      kafkaRecord({ value: null, offset: 3 }),
    ]);
    expect(recordsOf(KafkaEvent.parse(event)).map((r) => r.offset)).toEqual([3, 9]);
  });
});

describe('decoding a record', () => {
  const reasonOf = async (record: Parameters<typeof decodeRecord>[0]) => {
    const decoded = await decodeRecord(record, schemaFor);
    return decoded.kind === 'poison' ? decoded.reason : 'decoded';
  };

  it('decodes a user event in the Confluent wire format with the writer schema of its id', async () => {
    const event = userEvent();
    const decoded = await decodeRecord(userEventRecord(event, SCHEMA_ID), schemaFor);
    expect(decoded).toMatchObject({ kind: 'event', event });
  });

  it('names why each kind of poison record can never be written', async () => {
    const good = userEventRecord(userEvent(), SCHEMA_ID);
    const bytes = Buffer.from(good.value ?? '', 'base64');
    expect(await reasonOf({ ...good, key: null })).toBe('missing key');
    expect(await reasonOf({ ...good, value: undefined })).toBe('missing value');
    expect(await reasonOf(kafkaRecord({ key: 'k', value: Buffer.from('{"json": true}') }))).toMatch(
      /not in the Confluent wire format/,
    );
    const unknownId = Buffer.from(bytes);
    unknownId.writeInt32BE(99_999, 1);
    expect(await reasonOf({ ...good, value: unknownId.toString('base64') })).toBe('unknown schema id 99999');
    expect(await reasonOf({ ...good, value: bytes.subarray(0, 40).toString('base64') })).toMatch(
      /^undecodable: invalid Avro for schema 7/,
    );
    const invalid = userEventRecord(userEvent({ version: 0, user_key: 'not-a-uuid' }), SCHEMA_ID);
    expect(await reasonOf({ ...invalid, key: good.key })).toMatch(
      /^invalid for the schema: user_key: .*version: /,
    );
    expect(await reasonOf({ ...good, key: Buffer.from('someone-else').toString('base64') })).toBe(
      'the record key is not the event user_key',
    );
  });

  it('names the first three schema problems of an event wrong everywhere, and counts the rest', async () => {
    const good = userEventRecord(userEvent(), SCHEMA_ID);
    const wrong = userEvent({
      event_id: 'x',
      user_key: 'not-a-uuid',
      version: 0,
      login_uuid: 'y',
      latitude: 500,
      longitude: 500,
    });
    const reason = await reasonOf({ ...userEventRecord(wrong, SCHEMA_ID), key: good.key });
    expect(reason).toMatch(
      /^invalid for the schema: event_id: [^;]+; user_key: [^;]+; version: [^;]+ … and 3 more$/,
    );
    expect(reason.length).toBeLessThan(200);
  });

  it('bounds every dead letter reason to 500 characters, whatever built it', () => {
    const long = `undecodable: invalid Avro for schema 7 (${'x'.repeat(2000)})`;
    const letter = deadLetterOf(kafkaRecord({ key: 'k', value: Buffer.from('v') }), long, new Date());
    expect(letter.reason).toHaveLength(500);
    expect(letter.reason).toMatch(/^undecodable: invalid Avro for schema 7 \(x+…$/);
    const short = deadLetterOf(kafkaRecord({ key: 'k', value: Buffer.from('v') }), 'missing key', new Date());
    expect(short.reason).toBe('missing key');
  });

  it('treats a registry that is down as transient, never as poison', async () => {
    const down: SchemaLookup = () =>
      Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    await expect(decodeRecord(userEventRecord(userEvent(), SCHEMA_ID), down)).rejects.toBeInstanceOf(
      TransientError,
    );
    const failing: SchemaLookup = () => Promise.reject(Object.assign(new Error('Internal'), { status: 500 }));
    await expect(decodeRecord(userEventRecord(userEvent(), SCHEMA_ID), failing)).rejects.toBeInstanceOf(
      TransientError,
    );
  });
});

describe('sinking a batch', () => {
  const fakeDeps = (overrides: Partial<SinkBatchDeps> = {}) => {
    const calls: string[] = [];
    const written: UserEvent[] = [];
    const letters: DeadLetter[] = [];
    const deps: SinkBatchDeps = {
      schemaFor,
      writeUsers: (events) => {
        calls.push('write');
        written.push(...events);
        return Promise.resolve();
      },
      deadLetter: (sent) => {
        calls.push('dead-letter');
        letters.push(...sent);
        return Promise.resolve();
      },
      versionsOf: () => Promise.resolve(new Map()),
      now: () => new Date('2026-11-22T10:00:02Z'),
      ...overrides,
    };
    return { deps, calls, written, letters };
  };

  it('writes the good records, dead-letters the poison ones with topic, partition, offset, reason and bytes', async () => {
    const alice = userEvent();
    const bob = userEvent({ user_key: '9c4f1b7e-2d3a-5e6f-8a9b-0c1d2e3f4a5b', first_name: 'Bob' });
    const poison = kafkaRecord({
      key: 'x',
      value: Buffer.from([0, 0, 0, 0, 7, 255, 255]),
      offset: 2,
      partition: 3,
    });
    const { deps, calls, written, letters } = fakeDeps();
    const result = await sinkBatch(
      mskEvent([userEventRecord(alice, SCHEMA_ID, 0), poison, userEventRecord(bob, SCHEMA_ID, 1)]),
      deps,
    );
    expect(result).toEqual({ records: 3, written: 2, deadLettered: 1, skipped: 0 });
    expect(written.map((e) => e.first_name).sort()).toEqual(['Bob', 'Ангеліна']);
    expect(letters.map(({ reason, ...letter }) => letter)).toEqual([
      {
        topic: 'user-pipeline.users',
        partition: 3,
        offset: 2,
        timestamp: poison.timestamp,
        key: poison.key,
        value: poison.value,
        headers: [],
        failedAt: '2026-11-22T10:00:02.000Z',
      },
    ]);
    expect(letters[0]?.reason).toMatch(/^undecodable: invalid Avro for schema 7/);
    expect(calls).toEqual(['write', 'dead-letter']);
  });

  it('writes only the newest version of a user seen twice in one batch', async () => {
    const v1 = userEvent({ version: 1, city: 'Old' });
    const v2 = userEvent({ version: 2, city: 'New', event_type: 'user.updated' });
    const { deps, written } = fakeDeps();
    await sinkBatch(mskEvent([userEventRecord(v2, SCHEMA_ID, 0), userEventRecord(v1, SCHEMA_ID, 1)]), deps);
    expect(written).toEqual([v2]);
    expect(newestPerUser([v1, v2, v1])).toEqual([v2]);
  });

  it('rejects when Cassandra is down, before dead-lettering anything, so the retry repeats the batch whole', async () => {
    const { deps, letters } = fakeDeps({
      writeUsers: () => Promise.reject(new TransientError('Cassandra did not accept the users')),
    });
    const poison = kafkaRecord({ key: null, value: Buffer.from('x') });
    await expect(
      sinkBatch(mskEvent([userEventRecord(userEvent(), SCHEMA_ID), poison]), deps),
    ).rejects.toThrow('Cassandra did not accept the users');
    expect(letters).toEqual([]);
  });
});

describe('a batch with nothing to write', () => {
  it('dead-letters its poison records while Cassandra is down, without asking Cassandra anything', async () => {
    const letters: DeadLetter[] = [];
    const asked: string[] = [];
    const deps: SinkBatchDeps = {
      schemaFor,
      writeUsers: () => {
        asked.push('write');
        return Promise.reject(new TransientError('Cassandra is unavailable'));
      },
      versionsOf: () => {
        asked.push('versions');
        return Promise.reject(new TransientError('Cassandra is unavailable'));
      },
      deadLetter: (sent) => {
        letters.push(...sent);
        return Promise.resolve();
      },
      now: () => new Date('2026-11-22T10:00:02Z'),
    };
    const poison = [
      kafkaRecord({ key: null, value: Buffer.from('x'), offset: 0 }),
      kafkaRecord({ key: 'k', value: Buffer.from([0, 0, 0, 0, 99, 1]), offset: 1 }),
    ];
    await expect(sinkBatch(mskEvent(poison), deps)).resolves.toEqual({
      records: 2,
      written: 0,
      deadLettered: 2,
      skipped: 0,
    });
    expect(letters.map((l) => l.reason)).toEqual(['missing key', 'unknown schema id 99']);
    expect(asked).toEqual([]);
  });
});

describe('write times, on Cassandra and on Amazon Keyspaces', () => {
  const now = new Date('2026-11-22T10:00:00Z');
  const minutes = (n: number): number => now.getTime() + n * 60_000;
  const days = (n: number): number => now.getTime() + n * 86_400_000;

  /**
   * A session that enforces Keyspaces' rule: a client-side timestamp more than 2 days before or 5
   * minutes after its clock is refused. It keeps the write times it accepted.
   */
  const keyspacesLike = () => {
    const accepted: bigint[] = [];
    const session = {
      execute: (_query: string, params: unknown[]) => {
        const micros = BigInt(String(params.at(-1)));
        const ms = Number(micros / 1000n);
        if (ms < days(-2) || ms > minutes(5)) {
          return Promise.reject(new Error('Client-side timestamp is outside the accepted range'));
        }
        accepted.push(micros);
        return Promise.resolve({ rows: [] });
      },
    };
    return { session: session as unknown as Parameters<typeof writeUsers>[0], accepted };
  };

  const batch = () => {
    const fresh = userEvent({ user_key: '1a2b3c4d-0000-5000-8000-000000000001', updated_at: minutes(-1) });
    const oldHeld = userEvent({
      user_key: '1a2b3c4d-0000-5000-8000-000000000002',
      version: 2,
      updated_at: days(-3),
    });
    const oldMissing = userEvent({ user_key: '1a2b3c4d-0000-5000-8000-000000000003', updated_at: days(-3) });
    const future = userEvent({ user_key: '1a2b3c4d-0000-5000-8000-000000000004', updated_at: minutes(10) });
    return {
      events: { fresh, oldHeld, oldMissing, future },
      kafka: mskEvent(
        [fresh, oldHeld, oldMissing, future].map((e, offset) => userEventRecord(e, SCHEMA_ID, offset)),
      ),
    };
  };

  it('on Keyspaces writes only what its window accepts, skips old replays it holds, dead-letters the rest, and keeps the partition moving', async () => {
    const { session, accepted } = keyspacesLike();
    const { events, kafka } = batch();
    const letters: DeadLetter[] = [];
    const asked: string[] = [];
    const result = await sinkBatch(kafka, {
      schemaFor,
      target: 'keyspaces',
      now: () => now,
      writeUsers: (toWrite) => writeUsers(session, toWrite, 8),
      versionsOf: (keys) => {
        asked.push(...keys);
        return Promise.resolve(new Map([[events.oldHeld.user_key, 3]]));
      },
      deadLetter: (sent) => {
        letters.push(...sent);
        return Promise.resolve();
      },
    });
    expect(result).toEqual({ records: 4, written: 1, deadLettered: 2, skipped: 1 });
    expect(accepted).toEqual([BigInt(events.fresh.updated_at) * 1000n]);
    expect(asked.sort()).toEqual([events.oldHeld.user_key, events.oldMissing.user_key].sort());
    expect(letters.map((l) => [l.offset, l.reason])).toEqual([
      [
        3,
        `event time ${new Date(minutes(10)).toISOString()} is ahead of the clock: written, it would outrank every later version`,
      ],
      [
        2,
        `event time ${new Date(days(-3)).toISOString()} is older than Keyspaces accepts as a write time (2 days), and it holds no newer version: change the user in PostgreSQL to publish a new one`,
      ],
    ]);
  });

  it('on Cassandra writes old events with their own time, and dead-letters only the one from the future', async () => {
    const { events, kafka } = batch();
    const written: UserEvent[] = [];
    const letters: DeadLetter[] = [];
    const result = await sinkBatch(kafka, {
      schemaFor,
      now: () => now,
      writeUsers: (toWrite) => {
        written.push(...toWrite);
        return Promise.resolve();
      },
      versionsOf: () => Promise.reject(new Error('not asked on Cassandra')),
      deadLetter: (sent) => {
        letters.push(...sent);
        return Promise.resolve();
      },
    });
    expect(result).toEqual({ records: 4, written: 3, deadLettered: 1, skipped: 0 });
    expect(written.map((e) => e.user_key).sort()).toEqual(
      [events.fresh, events.oldHeld, events.oldMissing].map((e) => e.user_key).sort(),
    );
    expect(letters.map((l) => l.offset)).toEqual([3]);
  });

  it('makes a newer version (a later event time) the higher write time, so a replay never wins', () => {
    const v1 = userEvent({ version: 1 });
    const v2 = userEvent({ version: 2, updated_at: v1.updated_at + 1 });
    const at = (e: UserEvent) => BigInt(String(upsertParams(e, now).at(-1)));
    expect(at(v2) > at(v1)).toBe(true);
  });
});

describe('dead letters to SQS', () => {
  it('groups them as SQS accepts: ten at most, 256 KiB at most per request', () => {
    const big = (offset: number) =>
      deadLetterOf(
        kafkaRecord({ key: 'k', value: Buffer.alloc(45_000, 1), offset }),
        'undecodable',
        new Date(),
      );
    const small = (offset: number) =>
      deadLetterOf(kafkaRecord({ key: 'k', value: Buffer.from('x'), offset }), 'missing key', new Date());
    const batches = sqsBatches([
      ...Array.from({ length: 12 }, (_, i) => big(i)),
      ...Array.from({ length: 15 }, (_, i) => small(100 + i)),
    ]);
    expect(batches.flat().map((l) => l.offset)).toEqual([
      ...Array.from({ length: 12 }, (_, i) => i),
      ...Array.from({ length: 15 }, (_, i) => 100 + i),
    ]);
    for (const batch of batches) {
      expect(batch.length).toBeLessThanOrEqual(10);
      expect(batch.reduce((sum, l) => sum + Buffer.byteLength(JSON.stringify(l)), 0)).toBeLessThanOrEqual(
        256 * 1024,
      );
    }
  });

  it('keeps a value too large for an SQS message out of the letter, with its size', () => {
    const letter = deadLetterOf(
      kafkaRecord({ key: 'k', value: Buffer.alloc(300_000, 2) }),
      'undecodable',
      new Date(),
    );
    expect(letter.value).toBeNull();
    expect(letter.valueOmittedBytes).toBe(300_000);
  });
});

describe('the Cassandra upsert', () => {
  it('binds every column in order and writes with the event time, in microseconds, as the write time', () => {
    const event = userEvent({ version: 5 });
    const sunkAt = new Date('2026-11-22T10:00:03Z');
    const params = upsertParams(event, sunkAt);
    const columns = /\(([^)]*)\) VALUES/.exec(UPSERT_USER)?.[1]?.split(', ') ?? [];
    expect(UPSERT_USER).toMatch(/USING TIMESTAMP \?$/);
    expect(params).toHaveLength(columns.length + 1);
    expect(params[columns.indexOf('first_name')]).toBe('Ангеліна');
    expect(params[columns.indexOf('date_of_birth')]).toEqual(new Date('1980-03-04T05:06:07.089Z'));
    expect(params[columns.indexOf('sunk_at')]).toBe(sunkAt);
    expect(String(params.at(-1))).toBe(String(Date.parse('2026-11-01T10:00:00Z') * 1000));
  });
});
