/**
 * Clients of the local stack's services, for the stack's bootstrap, the project's tools (demo,
 * benchmarks, DLQ tool) and tests. The functions build their own from their settings.
 */
import path from 'node:path';
import cassandraDriver from 'cassandra-driver';
import { Kafka, logLevel } from 'kafkajs';
import { directoryQueue, type MessageQueue } from '#lib/message-queue.ts';
import { directoryRawStore, type RawStore } from '#lib/raw-store.ts';
import { endpoints } from '../endpoints.ts';
import { localResources, localStoreDir } from './resources.ts';

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

/** The local stage's raw zone, as its functions see it: a folder of the durable store (resources.ts). */
export const localRawStore = (): RawStore =>
  directoryRawStore(path.join(localStoreDir, localResources.rawBucket));

/** One of the local stage's queues (its name, as localResources gives it), as its functions see it. */
export const localQueue = (name: string): MessageQueue => directoryQueue(path.join(localStoreDir, name));
