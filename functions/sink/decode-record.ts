import { statusOf } from '#lib/schema-registry.ts';
import { TransientError } from '#lib/errors.ts';
import { UserEvent } from '#lib/user-event.ts';
import type { KafkaRecord } from './kafka-event.ts';

/** What the sink needs of a writer schema: to read Avro bytes. */
export interface AvroReader {
  fromBuffer(buffer: Buffer): unknown;
}

/** Finds the writer schema of an id (the registry client caches them); rejects with the HTTP status. */
export type SchemaLookup = (schemaId: number) => Promise<AvroReader>;

/** A record decoded into a user event, or the reason it never can be. */
export type DecodedRecord =
  | { readonly kind: 'event'; readonly record: KafkaRecord; readonly event: UserEvent }
  | { readonly kind: 'poison'; readonly record: KafkaRecord; readonly reason: string };

const poison = (record: KafkaRecord, reason: string): DecodedRecord => ({ kind: 'poison', record, reason });

/** How many of a record's schema problems its reason names; the rest are counted. */
const ISSUES_NAMED = 3;

/**
 * Why an event fails the UserEvent rules: its first problems as field paths and expectations (never
 * the values, which are personal data), and how many more there are. A record wrong everywhere
 * would otherwise carry some 2 KB of reason into every dead letter and log line.
 */
export function issuesReason(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const named = issues.slice(0, ISSUES_NAMED).map((i) => `${i.path.map(String).join('.')}: ${i.message}`);
  const more = issues.length - named.length;
  return `invalid for the schema: ${named.join('; ')}${more > 0 ? ` … and ${more} more` : ''}`;
}

/**
 * Decodes one record: base64 → Confluent wire format (magic byte 0, schema id) → Avro with the writer
 * schema from the registry → the UserEvent rules. Everything that can never succeed is poison with a
 * reason a person can act on; a registry that is down or failing is a TransientError, so the batch
 * is retried instead of dead-lettered.
 */
export async function decodeRecord(record: KafkaRecord, schemaFor: SchemaLookup): Promise<DecodedRecord> {
  if (record.key == null || record.key === '') return poison(record, 'missing key');
  if (record.value == null || record.value === '') return poison(record, 'missing value');
  const value = Buffer.from(record.value, 'base64');
  if (value.length < 5 || value[0] !== 0) {
    return poison(record, 'undecodable: not in the Confluent wire format (magic byte 0 + schema id)');
  }
  const schemaId = value.readInt32BE(1);
  let reader: AvroReader;
  try {
    reader = await schemaFor(schemaId);
  } catch (error) {
    const status = statusOf(error);
    if (status === 404) return poison(record, `unknown schema id ${schemaId}`);
    throw new TransientError(`the schema registry could not serve schema ${schemaId}`, { cause: error });
  }
  let decoded: unknown;
  try {
    decoded = reader.fromBuffer(value.subarray(5));
  } catch (error) {
    const why = error instanceof Error ? error.message : 'unreadable';
    return poison(record, `undecodable: invalid Avro for schema ${schemaId} (${why})`);
  }
  const parsed = UserEvent.safeParse(decoded);
  if (!parsed.success) {
    return poison(record, issuesReason(parsed.error.issues));
  }
  const key = Buffer.from(record.key, 'base64').toString('utf8');
  if (key !== parsed.data.user_key) return poison(record, 'the record key is not the event user_key');
  return { kind: 'event', record, event: parsed.data };
}
