import cassandraDriver from 'cassandra-driver';
import type { CassandraSettings } from './config.js';
import { TransientError } from './errors.js';

let client: Promise<cassandraDriver.Client> | undefined;

/**
 * The Cassandra session: created and connected on first use, kept for the life of the container
 * (connecting discovers the cluster and prepares nothing twice). A failed connection is not cached.
 */
export function cassandraSession(settings: CassandraSettings): Promise<cassandraDriver.Client> {
  client ??= (async () => {
    const created = new cassandraDriver.Client({
      contactPoints: [...settings.CASSANDRA_CONTACT_POINTS],
      localDataCenter: settings.CASSANDRA_LOCAL_DC,
      keyspace: settings.CASSANDRA_KEYSPACE,
      socketOptions: { connectTimeout: 3000, readTimeout: 10_000 },
    });
    try {
      await created.connect();
    } catch (error) {
      await created.shutdown().catch(() => undefined);
      throw new TransientError('Cassandra is unavailable', { cause: error });
    }
    return created;
  })();
  client.catch(() => {
    client = undefined;
  });
  return client;
}
