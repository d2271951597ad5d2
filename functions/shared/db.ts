import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import pg from 'pg';
import { z } from 'zod';
import { secretsClient } from './aws.js';
import type { PersistSettings } from './config.js';
import { TransientError } from './errors.js';

/** The database secret, in the shape RDS writes to Secrets Manager. */
export const DbSecret = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int().min(1).max(65_535).default(5432),
  username: z.string().min(1),
  password: z.string().min(1),
  dbname: z.string().min(1),
});
export type DbSecret = z.infer<typeof DbSecret>;

/** Reads and validates the database secret. */
export async function readDbSecret(settings: PersistSettings): Promise<DbSecret> {
  try {
    const { SecretString } = await secretsClient(settings).send(
      new GetSecretValueCommand({ SecretId: settings.DB_SECRET_ID }),
    );
    return DbSecret.parse(JSON.parse(SecretString ?? ''));
  } catch (error) {
    throw new TransientError(`could not read the database secret ${settings.DB_SECRET_ID}`, { cause: error });
  }
}

let pool: Promise<pg.Pool> | undefined;

/**
 * The connection pool: created on the first call in a container, from the secret read once, and
 * kept for the container's life (Lambda freezes it between invocations). A failed creation is not
 * cached, so the next invocation tries again.
 */
export function dbPool(settings: PersistSettings): Promise<pg.Pool> {
  pool ??= readDbSecret(settings).then(
    (secret) =>
      new pg.Pool({
        host: secret.host,
        port: secret.port,
        user: secret.username,
        password: secret.password,
        database: secret.dbname,
        max: settings.DB_POOL_MAX,
        ssl: settings.DB_SSL === 'true' ? { rejectUnauthorized: true } : false,
        connectionTimeoutMillis: 5000,
        idleTimeoutMillis: 60_000,
      }),
  );
  pool.catch(() => {
    pool = undefined;
  });
  return pool;
}
