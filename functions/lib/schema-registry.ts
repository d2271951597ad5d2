import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { ConfigError, TransientError } from './errors.ts';
import { lazy } from './once.ts';

/** The HTTP status of a registry error (the client's errors carry it as `status`), if any. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * The schema registry client (Confluent API: Apicurio's ccompat path offline). Created once per
 * container; it caches schemas by id, so each id costs one request per container.
 */
export const schemaRegistry = lazy(
  (settings: { readonly SCHEMA_REGISTRY_URL: string }) =>
    new SchemaRegistry({ host: settings.SCHEMA_REGISTRY_URL, retry: { retries: 2 } }),
);

/** The Confluent wire format's header: magic byte 0, then the schema id as a big-endian int32. */
export function withWireHeader(schemaId: number, avro: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(0, 0);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, avro]);
}

/**
 * An encoder for the latest schema of `subject`, looked up once: the registry is the contract, and the
 * deployment registers the repo's .avsc before the functions run. Encoding is then synchronous.
 */
export async function latestEncoder(
  registry: Pick<SchemaRegistry, 'getLatestSchemaId' | 'getSchema'>,
  subject: string,
): Promise<{ schemaId: number; encode: (value: object) => Buffer }> {
  let schemaId: number;
  let schema: Awaited<ReturnType<SchemaRegistry['getSchema']>>;
  try {
    schemaId = await registry.getLatestSchemaId(subject);
    schema = await registry.getSchema(schemaId);
  } catch (error) {
    if (statusOf(error) === 404)
      throw new ConfigError(`no schema is registered under ${subject}`, { cause: error });
    throw new TransientError('the schema registry is unavailable', { cause: error });
  }
  return { schemaId, encode: (value) => withWireHeader(schemaId, schema.toBuffer(value)) };
}
