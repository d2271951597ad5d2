import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import type { RegistrySettings } from './config.ts';
import { ConfigError, TransientError } from './errors.ts';
import { lazy } from './once.ts';
import { readJsonSecret, secretsClient } from './secrets.ts';

/** The HTTP status of a registry error (the client's errors carry it as `status`), if any. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * HTTP basic credentials for the registry, as its secret holds them: for Confluent Cloud, the API key
 * is the username and its secret the password.
 */
export const RegistryCredentials = z.object({ username: z.string().min(1), password: z.string().min(1) });
export type RegistryCredentials = z.infer<typeof RegistryCredentials>;

/** Reads the registry's credentials secret; no error it raises quotes the secret. */
export function readRegistryCredentials(
  client: Pick<SecretsManagerClient, 'send'>,
  secretId: string,
): Promise<RegistryCredentials> {
  return readJsonSecret(client, secretId, RegistryCredentials, 'the schema registry credentials secret');
}

/** The `Authorization` header of HTTP basic auth, for what speaks to the registry with plain fetch. */
export function basicAuthorization(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

/** The registry client's options: its URL and, when the registry asks for them, basic credentials. */
export function registryClientOptions(
  url: string,
  credentials: RegistryCredentials | undefined,
): ConstructorParameters<typeof SchemaRegistry>[0] {
  // The client's `auth` becomes Node's http `auth` option: an Authorization header, never the URL.
  return { host: url, retry: { retries: 2 }, ...(credentials === undefined ? {} : { auth: credentials }) };
}

/** Where the registry client reads its credentials from (Secrets Manager; a stub in tests). */
export interface RegistryDeps {
  readonly secrets: () => Pick<SecretsManagerClient, 'send'>;
}

/**
 * The schema registry client (Confluent API: Apicurio's ccompat path offline and in the stack). Created
 * once per container, with the credentials secret read once when one is named; it caches schemas by id,
 * so each id costs one request per container. A failed creation is not kept.
 */
export const schemaRegistry = lazy(
  async (settings: RegistrySettings, deps?: RegistryDeps): Promise<SchemaRegistry> => {
    const secretId = settings.SCHEMA_REGISTRY_CREDENTIALS_SECRET_ID;
    const credentials =
      secretId === undefined
        ? undefined
        : await readRegistryCredentials(deps?.secrets() ?? secretsClient(settings), secretId);
    return new SchemaRegistry(registryClientOptions(settings.SCHEMA_REGISTRY_URL, credentials));
  },
);

/** Whether the registry refused the request's credentials (or their absence), here or in a cause. */
export function refusedCredentials(error: unknown): boolean {
  for (let cause = error, depth = 0; cause !== undefined && depth < 5; depth++) {
    const status = statusOf(cause);
    if (status === 401 || status === 403) return true;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return false;
}

/**
 * Runs `use` with the container's registry client. When the registry refuses the credentials, the
 * client is forgotten, so that the next call reads the secret again: a rotated API key takes effect
 * on the next invocation instead of at the container's end.
 */
export async function withRegistry<T>(
  settings: RegistrySettings,
  use: (registry: SchemaRegistry) => Promise<T>,
  deps?: RegistryDeps,
): Promise<T> {
  const registry = await schemaRegistry(settings, deps);
  try {
    return await use(registry);
  } catch (error) {
    // The forgotten client holds no connection of its own to close.
    if (refusedCredentials(error)) void schemaRegistry.reset();
    throw error;
  }
}

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
    const status = statusOf(error);
    if (status === 404) throw new ConfigError(`no schema is registered under ${subject}`, { cause: error });
    if (status === 401 || status === 403)
      throw new ConfigError(`the schema registry refused the credentials (HTTP ${status})`, { cause: error });
    throw new TransientError('the schema registry is unavailable', { cause: error });
  }
  return { schemaId, encode: (value) => withWireHeader(schemaId, schema.toBuffer(value)) };
}
