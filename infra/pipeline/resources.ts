/**
 * The Spark job's streaming queries, one per aggregate table of the keyspace (the job's QUERIES in
 * spark/users_aggregates/stream.py).
 */
export const sparkQueries = ['users_per_minute', 'age_stats_per_minute'] as const;

/** The consumer group one Spark query commits its progress to (spark/users_aggregates/progress.py). */
export const sparkConsumerGroup = (prefix: string, query: (typeof sparkQueries)[number]): string =>
  `${prefix}-${query}`;

/**
 * The pipeline's resources by name, for any stage, as serverless.yml names them
 * (`${self:service}-${sls:stage}-…`) and infra/aws/template.yml creates them on AWS. The local
 * stack's bootstrap and `npm run aws:bootstrap` create them; the functions get the names through
 * their environment. The topic, its subject and the keyspace are the same on every stage.
 */
export function pipelineResources(stage: string) {
  const sparkConsumerGroupPrefix = `user-pipeline-${stage}-spark-aggregates`;
  return {
    stage,
    rawBucket: `user-pipeline-${stage}-raw`,
    dbSecretId: `user-pipeline/${stage}/postgres`,
    /**
     * The schema registry's basic-auth credentials ({username, password}), for a registry that asks for
     * them (an existing one, such as Confluent Cloud's); whoever runs the stage creates it.
     */
    registryCredentialsSecretId: `user-pipeline/${stage}/schema-registry`,
    /** Airflow's login ({username, password}), with which the console lists and triggers DAG runs. */
    airflowCredentialsSecretId: `user-pipeline/${stage}/airflow`,
    /** The user events topic. */
    usersTopic: 'user-pipeline.users',
    /** The Avro schema's subject (the topic's value subject, TopicNameStrategy). */
    usersSubject: 'user-pipeline.users-value',
    /** Records the sink can never write (poison), with their reason and original bytes. */
    deadLetterQueue: `user-pipeline-${stage}-sink-dlq`,
    /** Batches the Kafka trigger gave up on after its retries (the mapping's on-failure destination). */
    failedBatchesQueue: `user-pipeline-${stage}-sink-failed-batches`,
    /** The consumer group of the sink's Kafka trigger (serverless.yml, consumerGroupId). */
    sinkConsumerGroup: `user-pipeline-${stage}-sink`,
    /**
     * What the Spark job's consumer groups start with; the stack passes it to the job
     * (`--consumer-group-prefix`). Spark keeps its offsets in its checkpoint; after each micro-batch the
     * job commits the batch's end offsets to one group per query, so that Kafka tools show its lag.
     */
    sparkConsumerGroupPrefix,
    /** The Spark job's consumer groups, `<prefix>-<query>`, one per query (no members: commits only). */
    sparkConsumerGroups: sparkQueries.map((query) => sparkConsumerGroup(sparkConsumerGroupPrefix, query)),
    /** The Cassandra keyspace the sink and the Spark job write to. */
    keyspace: 'user_pipeline',
  } as const;
}

/** The resources of one stage (see pipelineResources). */
export type PipelineResources = ReturnType<typeof pipelineResources>;
