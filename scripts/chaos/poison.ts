/**
 * The poison catalogue the chaos run plants in the users topic while it kills processes: records a
 * producer could write by mistake, each with what the sink must do with it. Most go to the
 * dead-letter queue with their reason; two are deliberately not poison (the sink writes them, and
 * writing them changes nothing), and the end checks prove that too. Every record is built from a real
 * event of the run (`template`), so the one that reaches Cassandra or Spark cannot add a user.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IHeaders } from 'kafkajs';
import type { UserEvent } from '#lib/user-event.ts';
import { withWireHeader } from '#lib/schema-registry.ts';

/** What the sink must do with a planted record. */
export type PoisonOutcome =
  /** Reaches the dead-letter queue with a reason containing `reason`. */
  | { readonly deadLetter: true; readonly reason: string }
  /** Is written or skipped without a dead letter, and changes nothing: `why` says why that is right. */
  | { readonly deadLetter: false; readonly why: string };

export interface Poison {
  readonly kind: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: IHeaders;
  readonly outcome: PoisonOutcome;
}

/** A real record of the run: its bytes as published, and the event they decode to. */
export interface PoisonTemplate {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly event: UserEvent;
}

/** The Avro encoder of the registered schema (latestEncoder), without the wire header. */
export interface PoisonEncoder {
  readonly schemaId: number;
  readonly encode: (event: object) => Buffer;
}

const DAY_MS = 24 * 3600_000;
const dead = (reason: string): PoisonOutcome => ({ deadLetter: true, reason });

/**
 * The catalogue for one template record. Events made up from it are `user.updated`, which Spark's
 * aggregates never count (they count each user's `user.created` once); copies of the template keep
 * its `user.created`, which Spark's de-duplication by user key drops.
 */
export function poisonCatalogue(template: PoisonTemplate, encoder: PoisonEncoder, nowMs: number): Poison[] {
  const update = (changes: Partial<Record<keyof UserEvent, unknown>>): Buffer =>
    withWireHeader(
      encoder.schemaId,
      encoder.encode({ ...template.event, event_id: randomUUID(), event_type: 'user.updated', ...changes }),
    );
  const key = template.key;
  return [
    {
      kind: 'not the wire format',
      key,
      value: Buffer.from(JSON.stringify({ user_key: template.event.user_key, email: 'x@example.invalid' })),
      outcome: dead('not in the Confluent wire format'),
    },
    {
      kind: 'unknown schema id',
      key,
      value: withWireHeader(987_654, template.value.subarray(5)),
      outcome: dead('unknown schema id 987654'),
    },
    {
      kind: 'truncated Avro',
      key,
      value: template.value.subarray(0, Math.floor(template.value.length / 2)),
      outcome: dead('invalid Avro'),
    },
    {
      kind: "valid Avro that breaks the event's rules",
      key,
      value: update({ version: 0 }),
      outcome: dead('invalid for the schema: version'),
    },
    { kind: 'missing key', key: null, value: template.value, outcome: dead('missing key') },
    { kind: 'missing value (a tombstone)', key, value: null, outcome: dead('missing value') },
    {
      kind: "a key that is not the event's user key",
      key: Buffer.from(randomUUID()),
      value: template.value,
      outcome: dead('the record key is not the event user_key'),
    },
    {
      kind: 'a key of odd bytes (NUL, invalid UTF-8)',
      key: Buffer.from([0x00, 0xff, 0xfe, 0x0a, 0xc3]),
      value: template.value,
      outcome: dead('the record key is not the event user_key'),
    },
    {
      kind: 'an oversized value (600 KiB)',
      key,
      value: withWireHeader(encoder.schemaId, randomBytes(600 * 1024)),
      outcome: dead('invalid Avro'),
    },
    {
      kind: 'an event time a year ahead',
      key,
      value: update({ updated_at: nowMs + 365 * DAY_MS, city: 'Future' }),
      outcome: dead('ahead of the clock'),
    },
    {
      kind: 'headers with odd bytes',
      key,
      value: template.value,
      headers: {
        '\u0000odd': Buffer.from([0x00, 0xff, 0x80]),
        'trace\u202e': Buffer.from('\ud800', 'utf16le'),
      },
      outcome: {
        deadLetter: false,
        why: 'the sink reads no header: the record is a copy of a real event, written again unchanged',
      },
    },
    {
      kind: 'an older version of a user Cassandra holds (a day earlier)',
      key,
      value: update({ updated_at: template.event.updated_at - DAY_MS, city: 'Stale' }),
      outcome: {
        deadLetter: false,
        why:
          'written with its older write time (USING TIMESTAMP), so Cassandra keeps the newer cells; ' +
          'a replay of history is not an error',
      },
    },
  ];
}
