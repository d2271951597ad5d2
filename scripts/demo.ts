/**
 * `npm run demo [-- --users N] [--seed S] [--keep]`: runs the pipeline once, from a fresh clone if
 * need be. Brings the local stack up (installing it on first use), starts `sls offline` with the
 * Kafka trigger, then calls fetch → persist → publish as Airflow would, shows the sink filling
 * Cassandra, and ends with a summary of every stage. Without --keep it stops what it started; with
 * --keep it leaves the stack up and serves the functions until Ctrl-C.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parseArgs } from 'node:util';
import pg from 'pg';
import {
  bootstrapLocalPipeline,
  localApiKey,
  localDatabaseUrl,
  localQueueUrl,
} from '../infra/local/bootstrap.js';
import { RawBatch } from '../functions/lib/batch.js';
import { s3RawStore } from '../functions/lib/raw-store.js';
import { localAwsConfig, localCassandra } from '../infra/local/clients.js';
import { localResources } from '../infra/local/resources.js';
import { endpoints } from '../infra/stack/endpoints.js';
import { down, status, up } from '../infra/stack/stack.js';
import { pipelineClient } from './http-client.js';
import { startOffline } from './offline.js';
import { sunkAtOf, userKeysOfSeeds } from './pipeline-stores.js';

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Messages in the local dead-letter queue, visible or in flight. */
async function deadLetterDepth(sqs: SQSClient): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: localQueueUrl(localResources.deadLetterQueue),
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '10000' },
      seed: { type: 'string', default: `demo-${Date.now().toString(36)}` },
      keep: { type: 'boolean', default: false },
    },
  });
  const users = Number(values.users);
  if (!Number.isInteger(users) || users < 1 || users > 100_000) {
    throw new Error('--users must be a whole number from 1 to 100000');
  }
  const seed = values.seed;
  const wasUp = (await status()).every((s) => s.pid !== undefined);
  const timings: [string, number][] = [];
  const timed = async <T>(stage: string, task: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    const value = await task();
    timings.push([stage, Date.now() - started]);
    return value;
  };

  await timed('stack up', () =>
    up([], (line) => {
      say(`[stack] ${line}`);
    }),
  );
  await bootstrapLocalPipeline((line) => {
    say(`[bootstrap] ${line}`);
  });
  say('starting sls offline with the Kafka trigger…');
  const offline = await timed('sls offline', () => startOffline());
  const pool = new pg.Pool({ connectionString: localDatabaseUrl, max: 2 });
  const cassandra = localCassandra();
  const sqs = new SQSClient(localAwsConfig);
  const s3 = new S3Client({ ...localAwsConfig, forcePathStyle: true });
  let complete = false;
  try {
    const api = pipelineClient(offline.baseUrl, await localApiKey());
    const dlqBefore = await deadLetterDepth(sqs);
    say(`fetch: ${users} users, seed ${seed}`);
    const fetched = await timed('fetch', () => api.fetch(users, seed));
    const key = String(fetched['key']);
    say(`  → ${String(fetched['count'])} users at s3://${localResources.rawBucket}/${key}`);
    const landed = RawBatch.parse(await s3RawStore(s3, localResources.rawBucket).get(key)).users.length;
    const persisted = await timed('persist', () => api.persist(key));
    say(`persist → PostgreSQL: ${JSON.stringify(persisted)}`);
    const published = await timed('publish', () => api.drain());
    say(`publish → Kafka: ${published} events`);

    const keys = await userKeysOfSeeds(pool, [seed]);
    await cassandra.connect();
    let inCassandra = 0;
    await timed('sink (after publish)', async () => {
      const deadline = Date.now() + 300_000;
      while (inCassandra < keys.length && Date.now() < deadline) {
        inCassandra = (await sunkAtOf(cassandra, keys)).size;
        say(`sink → Cassandra: ${inCassandra} / ${keys.length}`);
        if (inCassandra < keys.length) await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    });
    const dlq = (await deadLetterDepth(sqs)) - dlqBefore;
    complete = inCassandra === keys.length && keys.length === users;

    const rows: [string, string][] = [
      ['users fetched', String(fetched['count'])],
      ['users in the S3 batch', String(landed)],
      ['users in PostgreSQL', String(keys.length)],
      ['events published', String(published)],
      ['users in Cassandra', String(inCassandra)],
      ['new records in the DLQ', String(dlq)],
      ...timings.map(([stage, ms]): [string, string] => [`time: ${stage}`, seconds(ms)]),
    ];
    say('');
    for (const [label, value] of rows) say(`${label.padEnd(26)} ${value}`);
    say(complete ? '\nevery user reached Cassandra' : '\nNOT every user reached Cassandra: see the logs');
    if (values.keep) {
      say('\nleft running until Ctrl-C (which stops sls offline; `npm run stack -- down` stops the stack):');
      say(
        `  functions   ${offline.baseUrl}/{fetch,persist,publish,health}   x-api-key: ${await localApiKey()}`,
      );
      say(`  registry    ${endpoints.registry.url}`);
      say(`  postgres    ${localDatabaseUrl}`);
      say(`  cassandra   ${endpoints.cassandra.contactPoints.join(',')}:${endpoints.cassandra.port}`);
    }
  } finally {
    await pool.end();
    await cassandra.shutdown();
    sqs.destroy();
    if (!values.keep) {
      await offline.stop();
      if (!wasUp)
        await down([], (line) => {
          say(`[stack] ${line}`);
        });
    }
  }
  return complete ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
