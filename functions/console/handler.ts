import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { z } from 'zod';
import { cassandraSession } from '#lib/cassandra.ts';
import { ConsoleSettings, loadSettings } from '#lib/config.ts';
import { dbPool } from '#lib/db.ts';
import { loggableError, NotFoundError, outcomeOf } from '#lib/errors.ts';
import { headerOf } from '#lib/http.ts';
import { kafkaAdmin, kafkaProducer } from '#lib/kafka.ts';
import { logger } from '#lib/logger.ts';
import { lazy } from '#lib/once.ts';
import { queueOf } from '#lib/message-queue.ts';
import { rawStoreOf } from '#lib/raw-store.ts';
import { basicAuthorization, readRegistryCredentials } from '#lib/schema-registry.ts';
import { readJsonSecret, secretsClient } from '#lib/secrets.ts';
import { snapshotReader } from '#lib/snapshot/snapshot.ts';
import { airflowReader } from './airflow-reader.ts';
import type { DeadLetters } from './api.ts';
import { peekDeadLetters, peekMessages, replayDeadLetters } from './dead-letters.ts';
import { servePage } from './page-files.ts';
import { registryReader } from './registry-reader.ts';
import { routeApi, type ConsoleApi } from './routes.ts';
import { traceUser } from './trace.ts';

/**
 * The pipeline console: GET /console serves the page (no data, no key), /console/api/… its JSON
 * (behind the API key, which API Gateway checks). The composition root: settings at cold start,
 * every client on first use, kept for the container's life.
 */
const settings = loadSettings(ConsoleSettings);

const db = () => dbPool(settings);
const cassandra = () => cassandraSession(settings);
const admin = () => kafkaAdmin(settings);
// S3 and SQS, or on the local stage the folders of its durable store (LOCAL_STORE_DIR).
const rawZone = rawStoreOf(settings);
const deadLetterQueue = queueOf(settings, settings.DEAD_LETTER_QUEUE_URL);
const failedBatchesQueue = queueOf(settings, settings.FAILED_BATCHES_QUEUE_URL);
const usersTable = `${settings.CASSANDRA_KEYSPACE}.users`;

/** The registry's basic auth, read from its secret once per container (never per call). */
const registryAuthorization = lazy(async (): Promise<string | undefined> => {
  const secretId = settings.SCHEMA_REGISTRY_CREDENTIALS_SECRET_ID;
  if (secretId === undefined) return undefined;
  return basicAuthorization(await readRegistryCredentials(secretsClient(settings), secretId));
});
const registry = registryReader(settings.SCHEMA_REGISTRY_URL, () => registryAuthorization());

const AirflowLogin = z.object({ username: z.string().min(1), password: z.string().min(1) });
const airflow =
  settings.AIRFLOW_URL === undefined || settings.AIRFLOW_CREDENTIALS_SECRET_ID === undefined
    ? undefined
    : airflowReader(settings.AIRFLOW_URL, settings.AIRFLOW_DAG_ID, () =>
        readJsonSecret(
          secretsClient(settings),
          settings.AIRFLOW_CREDENTIALS_SECRET_ID ?? '',
          AirflowLogin,
          'the Airflow credentials secret',
        ),
      );
const noAirflow = (): never => {
  throw new NotFoundError(
    'Airflow is not configured for this stage: set AIRFLOW_URL and AIRFLOW_CREDENTIALS_SECRET_ID',
  );
};

/** A probe's HTTP answer: up when 2xx. */
const okOrThrow = (response: Response): void => {
  if (!response.ok) throw new Error(`answered ${response.status}`);
};

const consumerGroups = [
  { groupId: settings.SINK_CONSUMER_GROUP, label: 'sink' },
  // `<prefix>-<query>`: the query names have no hyphen.
  ...(settings.SPARK_CONSUMER_GROUPS ?? []).map((groupId) => ({
    groupId,
    label: `Spark ${groupId.split('-').at(-1) ?? groupId}`,
  })),
];

const readSnapshot = snapshotReader({
  resources: {
    stage: settings.STAGE,
    rawBucket: settings.RAW_BUCKET,
    usersTopic: settings.USERS_TOPIC,
    keyspace: settings.CASSANDRA_KEYSPACE,
    deadLetterQueueUrl: settings.DEAD_LETTER_QUEUE_URL,
    failedBatchesQueueUrl: settings.FAILED_BATCHES_QUEUE_URL,
    consumerGroups,
  },
  db,
  cassandra,
  kafkaAdmin: admin,
  rawZone: () => rawZone,
  deadLetters: () => deadLetterQueue,
  failedBatches: () => failedBatchesQueue,
  probes: {
    postgres: async () => (await db()).query('SELECT 1'),
    kafka: async () => (await admin()).describeCluster(),
    registry: () => registry.probe(),
    cassandra: async () => (await cassandra()).execute('SELECT release_version FROM system.local'),
    // The raw zone and the dead-letter queue answer (on the local stage: their folders can be read).
    s3: () => rawZone.list('raw/', 1),
    sqs: () => deadLetterQueue.count(),
    ...(settings.AIRFLOW_URL === undefined
      ? {}
      : {
          airflow: () =>
            fetch(`${settings.AIRFLOW_URL}/api/v2/monitor/health`, {
              signal: AbortSignal.timeout(1500),
            }).then(okOrThrow),
        }),
  },
});

/** The failed-batches queue's records: the condition Lambda (or the offline trigger) gave up on. */
const FailedBatch = z.object({
  requestContext: z.object({ condition: z.string() }).partial().optional(),
  timestamp: z.string().optional(),
  KafkaBatchInfo: z.unknown().optional(),
});

/** Letters one replay call receives at most: a few seconds of SQS and Kafka calls. */
const REPLAY_LIMIT = 500;

const api: ConsoleApi = {
  snapshot: () => readSnapshot(),
  async deadLetters(limit): Promise<DeadLetters> {
    const [letters, failed] = await Promise.all([
      peekDeadLetters(deadLetterQueue, limit),
      peekMessages(failedBatchesQueue, 20),
    ]);
    return {
      byReason: [...letters.byReason].map(([reason, count]) => ({ reason, count })),
      latest: letters.latest,
      truncated: letters.truncated,
      failedBatches: failed.map((body) => {
        const parsed = FailedBatch.safeParse(body);
        const record = parsed.success ? parsed.data : {};
        return {
          reason: record.requestContext?.condition ?? 'not an on-failure record',
          at: record.timestamp ?? '',
          // JSON.stringify gives undefined for a body that was not JSON at all (its type says string).
          detail: ((JSON.stringify(record.KafkaBatchInfo ?? body) as string | undefined) ?? 'not JSON').slice(
            0,
            500,
          ),
        };
      }),
    };
  },
  async replay(reason) {
    return replayDeadLetters({
      queue: deadLetterQueue,
      producer: await kafkaProducer(settings),
      reasonEquals: reason,
      // Within one call's time: a larger queue is replayed a call at a time.
      limit: REPLAY_LIMIT,
    });
  },
  schemas: () => registry.schemas(),
  schemaVersion: (subject, version) => registry.schemaVersion(subject, version),
  airflowRuns: () => (airflow ?? noAirflow()).runs(),
  triggerRun: (conf) => (airflow ?? noAirflow()).trigger(conf),
  trace: (userKey, reveal) =>
    traceUser(
      {
        db,
        cassandra,
        kafkaAdmin: admin,
        rawZone: () => rawZone,
        usersTopic: settings.USERS_TOPIC,
        usersTable,
        deadLetters: async () => (await peekDeadLetters(deadLetterQueue, 200)).latest,
      },
      userKey,
      reveal,
    ),
};

/** The API's route in serverless.yml (its events behind the key). */
const API_RESOURCE = '/console/api/{proxy+}';

const json = (statusCode: number, body: unknown): APIGatewayProxyResult => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => {
    logger.setCorrelationId(event.requestContext.requestId);
    const below = /\/console(?:\/(.*))?$/.exec(event.path)?.[1] ?? '';
    // The API only through its own route, the one API Gateway holds behind the key: a path that
    // merely looks like it, arriving by the page's public route, is no API call.
    if (event.resource !== API_RESOURCE) return servePage(below, event.path);
    if (event.queryStringParameters?.['reveal'] === '1')
      logger.info('personal fields revealed in a trace', { path: event.path });
    try {
      const query = Object.fromEntries(Object.entries(event.queryStringParameters ?? {}));
      return json(
        200,
        await routeApi(
          {
            method: event.httpMethod,
            path: below.slice(4),
            query,
            body: event.body,
            contentType: headerOf(event.headers, 'content-type'),
          },
          api,
        ),
      );
    } catch (error) {
      const outcome = outcomeOf(error);
      if (outcome.statusCode >= 500)
        logger.error('console request failed', { outcome: outcome.body, error: loggableError(error) });
      return json(outcome.statusCode, outcome.body);
    }
  });
