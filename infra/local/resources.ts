import { settings } from '../stack/settings.js';

/** Partitions of the users topic: they bound the sink's and Spark's parallelism. */
export const usersTopicPartitions = (): number => settings.USERS_TOPIC_PARTITIONS;

/**
 * The pipeline's resources in the local stage, named as serverless.yml names them for `--stage local`
 * (`${self:service}-${sls:stage}-…`). The bootstrap creates them; the functions get the names through
 * their environment.
 */
export const localResources = {
  stage: 'local',
  rawBucket: 'user-pipeline-local-raw',
  dbSecretId: 'user-pipeline/local/postgres',
  /** The user events topic; its partition count is a stack setting (USERS_TOPIC_PARTITIONS, default 6). */
  usersTopic: 'user-pipeline.users',
  /** The Avro schema's subject (the topic's value subject, TopicNameStrategy). */
  usersSubject: 'user-pipeline.users-value',
  /** Records the sink can never write (poison), with their reason and original bytes. */
  deadLetterQueue: 'user-pipeline-local-sink-dlq',
  /** Batches the Kafka trigger gave up on after its retries (the event-source mapping's on-failure destination). */
  failedBatchesQueue: 'user-pipeline-local-sink-failed-batches',
  /** The consumer group of the sink's Kafka trigger (serverless.yml, consumerGroupId). */
  sinkConsumerGroup: 'user-pipeline-local-sink',
  /** The Cassandra keyspace the sink writes to. */
  keyspace: 'user_pipeline',
} as const;
