import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { cassandraSession } from '#lib/cassandra.ts';
import { loadSettings, SinkSettings } from '#lib/config.ts';
import { loggableError, UnprocessableError } from '#lib/errors.ts';
import { logger } from '#lib/logger.ts';
import { withRegistry } from '#lib/schema-registry.ts';
import { versionsInCassandra } from '#lib/user-rows.ts';
import { queueOf } from '#lib/message-queue.ts';
import { sendDeadLetters } from './dead-letter.ts';
import { KafkaEvent } from './kafka-event.ts';
import { sinkBatch, type SinkBatchDeps, type SinkBatchResult } from './sink-batch.ts';
import { writeUsers } from './user-table.ts';

/**
 * The Kafka trigger's target (MSK on AWS, the project's offline plugin locally): the composition root.
 * Settings at cold start; the registry client (with its schema cache, and its credentials from Secrets
 * Manager when a secret is named), the Cassandra session and the SQS client on first use, then kept for
 * the container's life. A rejection makes the trigger retry the batch; poison records never reject,
 * they are dead-lettered.
 */
const settings = loadSettings(SinkSettings);
const deadLetters = queueOf(settings, settings.DEAD_LETTER_QUEUE_URL);

const deps: SinkBatchDeps = {
  schemaFor: (schemaId) => withRegistry(settings, (registry) => registry.getSchema(schemaId)),
  writeUsers: async (events) => {
    await writeUsers(await cassandraSession(settings), events, settings.SINK_CONCURRENCY);
  },
  versionsOf: async (keys) => versionsInCassandra(await cassandraSession(settings), keys),
  target: settings.CASSANDRA_TARGET,
  deadLetter: (letters) => sendDeadLetters(deadLetters, letters),
};

export const handler = middy<unknown, SinkBatchResult>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event, context) => {
    logger.setCorrelationId(context.awsRequestId);
    const parsed = KafkaEvent.safeParse(event);
    if (!parsed.success) {
      // Not a Kafka event at all: a wiring fault. Rejecting sends it to the trigger's on-failure path.
      throw new UnprocessableError(`not a Kafka event: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    }
    try {
      return await sinkBatch(parsed.data, deps);
    } catch (error) {
      logger.error('batch failed; the trigger will retry it', { error: loggableError(error) });
      throw error;
    }
  });
