import { endpoints } from '../endpoints.ts';
import { localQueueUrl, localResources, localStoreDir } from './resources.ts';

/** Every function serverless.yml defines. */
export type FunctionName = 'health' | 'fetch' | 'persist' | 'publish' | 'status' | 'sink' | 'console';

/** What serverless.yml gives every function (provider.environment) on the local stage. */
const provider = {
  STAGE: localResources.stage,
  AWS_ENDPOINT_URL: endpoints.aws.endpoint,
  LOCAL_STORE_DIR: localStoreDir,
  POWERTOOLS_SERVICE_NAME: 'user-pipeline',
  POWERTOOLS_LOG_LEVEL: 'INFO',
  NODE_OPTIONS: '--enable-source-maps',
};

const database = {
  DB_SECRET_ID: localResources.dbSecretId,
  DB_SSL: 'false',
  DB_SSL_CA: 'system',
};

const cassandra = {
  CASSANDRA_CONTACT_POINTS: endpoints.cassandra.contactPoints.join(','),
  CASSANDRA_LOCAL_DC: endpoints.cassandra.localDataCenter,
  CASSANDRA_KEYSPACE: localResources.keyspace,
  CASSANDRA_PORT: String(endpoints.cassandra.port),
  CASSANDRA_AUTH: 'none',
  CASSANDRA_TLS: 'false',
};

/**
 * The environment of each function on the local stage, exactly as `sls package --stage local` writes
 * it from serverless.yml (provider-wide, then the function's own). It is written out here, and not
 * read from the framework at run time, because packaging takes seconds; the packaging test
 * (tests/unit/deploy/serverless-package.test.ts) holds the two equal, so they cannot drift.
 */
export const localFunctionEnvironments: Readonly<Record<FunctionName, Readonly<Record<string, string>>>> = {
  health: provider,
  fetch: {
    ...provider,
    RAW_BUCKET: localResources.rawBucket,
    RANDOMUSER_BASE_URL: endpoints.randomuser.url,
    FETCH_RATE_LIMIT_USERS: '100000000',
    FETCH_CONCURRENCY: '4',
    FETCH_MAX_COUNT: '100000',
  },
  persist: { ...provider, RAW_BUCKET: localResources.rawBucket, ...database },
  publish: {
    ...provider,
    ...database,
    DB_POOL_MAX: '2',
    KAFKA_BROKERS: endpoints.kafka.brokers.join(','),
    MSK_CLUSTER_ARN: '',
    USERS_TOPIC: localResources.usersTopic,
    USERS_SUBJECT: localResources.usersSubject,
    SCHEMA_REGISTRY_URL: endpoints.registry.url,
    SCHEMA_REGISTRY_CREDENTIALS_SECRET_ID: '',
  },
  status: { ...provider, ...database, ...cassandra },
  sink: {
    ...provider,
    SCHEMA_REGISTRY_URL: endpoints.registry.url,
    SCHEMA_REGISTRY_CREDENTIALS_SECRET_ID: '',
    ...cassandra,
    DEAD_LETTER_QUEUE_URL: localQueueUrl(localResources.deadLetterQueue),
    CASSANDRA_TARGET: 'cassandra',
  },
  console: {
    ...provider,
    RAW_BUCKET: localResources.rawBucket,
    ...database,
    DB_POOL_MAX: '4',
    KAFKA_BROKERS: endpoints.kafka.brokers.join(','),
    MSK_CLUSTER_ARN: '',
    USERS_TOPIC: localResources.usersTopic,
    SCHEMA_REGISTRY_URL: endpoints.registry.url,
    SCHEMA_REGISTRY_CREDENTIALS_SECRET_ID: '',
    ...cassandra,
    DEAD_LETTER_QUEUE_URL: localQueueUrl(localResources.deadLetterQueue),
    FAILED_BATCHES_QUEUE_URL: localQueueUrl(localResources.failedBatchesQueue),
    SINK_CONSUMER_GROUP: localResources.sinkConsumerGroup,
    SPARK_CONSUMER_GROUPS: localResources.sparkConsumerGroups.join(','),
    AIRFLOW_URL: endpoints.airflow.url,
    AIRFLOW_CREDENTIALS_SECRET_ID: localResources.airflowCredentialsSecretId,
  },
};

/**
 * What the Lambda runtime adds under `sls offline` (`npm run offline` passes them): the region and
 * the AWS emulator's test credentials.
 */
export const localLambdaRuntimeEnvironment = {
  AWS_REGION: endpoints.aws.region,
  AWS_ACCESS_KEY_ID: endpoints.aws.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: endpoints.aws.credentials.secretAccessKey,
} as const;

/**
 * A function's whole environment on the local stage, as `sls offline` gives it, for running its
 * handler elsewhere (in-process in a test, in a process of its own in a benchmark); `overrides` last.
 */
export function localFunctionEnvironment(
  name: FunctionName,
  overrides: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return { ...localLambdaRuntimeEnvironment, ...localFunctionEnvironments[name], ...overrides };
}
