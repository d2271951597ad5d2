import cassandraDriver from 'cassandra-driver';
import type { AwsSettings } from './aws.ts';
import type { CassandraSettings } from './config.ts';
import { TransientError } from './errors.ts';
import { KeyspacesSigV4AuthProvider, type AwsCredentialsProvider } from './keyspaces-auth.ts';
import { lazy } from './once.ts';

/**
 * What a connection needs: the cluster's settings and the region (SigV4 signs for it). The keyspace
 * is optional here: the migrations connect before the keyspace exists.
 */
export type CassandraConnectionSettings = Omit<CassandraSettings, 'CASSANDRA_KEYSPACE'> &
  Pick<AwsSettings, 'AWS_REGION'> & { readonly CASSANDRA_KEYSPACE?: string };

/**
 * The driver's options, from configuration only: the same code reaches the local node (9042, no auth,
 * no TLS) and Amazon Keyspaces (9142, SigV4 with the function's role, TLS, the region as data center).
 * LOCAL_QUORUM everywhere: Keyspaces accepts no other level for writes, and on the local one-replica
 * node it is the same as LOCAL_ONE. SigV4 signs with `credentials` (the AWS SDK v3 default chain
 * unless given: the bootstrap passes the provider it checked before anything else ran).
 */
export function cassandraClientOptions(
  settings: CassandraConnectionSettings,
  credentials?: AwsCredentialsProvider,
): cassandraDriver.ClientOptions {
  const contactPoints = [...settings.CASSANDRA_CONTACT_POINTS];
  return {
    contactPoints,
    localDataCenter: settings.CASSANDRA_LOCAL_DC,
    ...(settings.CASSANDRA_KEYSPACE === undefined ? {} : { keyspace: settings.CASSANDRA_KEYSPACE }),
    protocolOptions: { port: settings.CASSANDRA_PORT },
    queryOptions: { consistency: cassandraDriver.types.consistencies.localQuorum },
    socketOptions: { connectTimeout: 3000, readTimeout: 10_000 },
    ...(settings.CASSANDRA_AUTH === 'sigv4'
      ? {
          authProvider: new KeyspacesSigV4AuthProvider({
            region: settings.AWS_REGION,
            ...(credentials === undefined ? {} : { credentials }),
          }),
        }
      : {}),
    ...(settings.CASSANDRA_TLS === 'true'
      ? {
          sslOptions: {
            // The driver turns certificate checks off unless told otherwise. It connects to the
            // endpoint's addresses, so the name to check is given: the first contact point's.
            rejectUnauthorized: true,
            ...(contactPoints[0] === undefined ? {} : { servername: contactPoints[0] }),
          },
        }
      : {}),
  };
}

/**
 * The Cassandra session: created and connected on first use, kept for the life of the container
 * (connecting discovers the cluster and prepares nothing twice). A failed connection is not cached.
 */
export const cassandraSession = lazy(
  async (settings: CassandraSettings & Pick<AwsSettings, 'AWS_REGION'>): Promise<cassandraDriver.Client> => {
    const created = new cassandraDriver.Client(cassandraClientOptions(settings));
    try {
      await created.connect();
    } catch (error) {
      await created.shutdown().catch(() => undefined);
      throw new TransientError('Cassandra is unavailable', { cause: error });
    }
    return created;
  },
);
