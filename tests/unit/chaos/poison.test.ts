import { describe, expect, it } from 'vitest';
import type { UserEvent } from '#lib/user-event.ts';
import { withWireHeader } from '#lib/schema-registry.ts';
import type { DeadLetter } from '#functions/sink/dead-letter.ts';
import type { KafkaRecord } from '#functions/sink/kafka-event.ts';
import { sinkBatch } from '#functions/sink/sink-batch.ts';
import { poisonCatalogue } from '#scripts/chaos/poison.ts';
import { mskEvent, userEvent, userEventType } from '#tests/fixtures/kafka-events.ts';

const SCHEMA_ID = 3;
const NOW = Date.parse('2026-12-01T12:00:00Z');
const template = (() => {
  const event = userEvent({ updated_at: NOW - 60_000 });
  return {
    key: Buffer.from(event.user_key),
    value: withWireHeader(SCHEMA_ID, userEventType.toBuffer(event)),
    event,
  };
})();
const catalogue = poisonCatalogue(
  template,
  { schemaId: SCHEMA_ID, encode: (e) => userEventType.toBuffer(e) },
  NOW,
);

/** The catalogue as the trigger delivers it, one partition, offset = position. */
const records: KafkaRecord[] = catalogue.map((poison, offset) => ({
  topic: 'user-pipeline.users',
  partition: 0,
  offset,
  timestamp: NOW,
  timestampType: 'CREATE_TIME',
  key: poison.key?.toString('base64') ?? null,
  value: poison.value?.toString('base64') ?? null,
  headers: Object.entries(poison.headers ?? {}).map(([name, bytes]) => ({
    [name]: [...Buffer.from(bytes as Buffer)],
  })),
}));

describe('the chaos run’s poison catalogue, through the real sink batch', () => {
  it('has at least ten kinds, each named once', () => {
    expect(catalogue.length).toBeGreaterThanOrEqual(10);
    expect(new Set(catalogue.map((p) => p.kind)).size).toBe(catalogue.length);
  });

  it('dead-letters each poison with its reason, and writes only what changes nothing', async () => {
    const letters: DeadLetter[] = [];
    const written: UserEvent[] = [];
    const result = await sinkBatch(mskEvent(records), {
      schemaFor: (id) =>
        id === SCHEMA_ID
          ? Promise.resolve(userEventType)
          : Promise.reject(Object.assign(new Error('Not Found'), { status: 404 })),
      writeUsers: (events) => {
        written.push(...events);
        return Promise.resolve();
      },
      versionsOf: () => Promise.resolve(new Map()),
      deadLetter: (batch) => {
        letters.push(...batch);
        return Promise.resolve();
      },
      now: () => new Date(NOW),
    });
    const reasonAt = new Map(letters.map((l) => [l.offset, l.reason]));
    // Each kind: its reason when it is meant for the DLQ, no letter at all when it is not.
    const outcome = (kind: string, reason: string | undefined, expected: string | undefined): string => {
      if (reason === undefined) return `${kind}: no letter`;
      return expected !== undefined && reason.includes(expected)
        ? `${kind}: its reason`
        : `${kind}: ${reason}`;
    };
    expect(
      catalogue.map((p, offset) =>
        outcome(p.kind, reasonAt.get(offset), p.outcome.deadLetter ? p.outcome.reason : undefined),
      ),
    ).toEqual(catalogue.map((p) => `${p.kind}: ${p.outcome.deadLetter ? 'its reason' : 'no letter'}`));
    expect(result.deadLettered).toBe(catalogue.filter((p) => p.outcome.deadLetter).length);
    // The records that are not poison fold into the template's user at its own write time.
    expect(written).toEqual([template.event]);
  });

  it('keeps an oversized value out of the letter, with its size', async () => {
    const oversized = catalogue.findIndex((p) => p.kind.startsWith('an oversized value'));
    const letters: DeadLetter[] = [];
    await sinkBatch(mskEvent(records.filter((_, i) => i === oversized)), {
      schemaFor: () => Promise.resolve(userEventType),
      writeUsers: () => Promise.resolve(),
      versionsOf: () => Promise.resolve(new Map()),
      deadLetter: (batch) => {
        letters.push(...batch);
        return Promise.resolve();
      },
    });
    expect(letters[0]).toMatchObject({ value: null, valueOmittedBytes: 600 * 1024 + 5 });
  });
});
