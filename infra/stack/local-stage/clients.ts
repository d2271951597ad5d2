/**
 * Clients of the local stack's services, for the stack's bootstrap, the project's tools (demo,
 * benchmarks, DLQ tool) and tests. The functions build their own from their settings.
 */
import cassandraDriver from 'cassandra-driver';
import { Kafka, logLevel } from 'kafkajs';
import { endpoints } from '../endpoints.ts';

/** AWS SDK v3 client options for the local AWS emulator (test credentials). */
export const localAwsConfig = {
  endpoint: endpoints.aws.endpoint,
  region: endpoints.aws.region,
  credentials: endpoints.aws.credentials,
};

/** A kafkajs client of the local broker that logs only errors. */
export const localKafka = (clientId: string): Kafka =>
  new Kafka({ clientId, brokers: [...endpoints.kafka.brokers], logLevel: logLevel.ERROR });

/** A Cassandra client of the local node (not connected yet). */
export const localCassandra = (): cassandraDriver.Client =>
  new cassandraDriver.Client({
    contactPoints: [...endpoints.cassandra.contactPoints],
    localDataCenter: endpoints.cassandra.localDataCenter,
  });
