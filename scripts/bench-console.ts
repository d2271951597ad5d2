/**
 * `npm run bench:console [-- --users N] [--polls P] [--keep-data]`: how long one console poll (the
 * pipeline snapshot, GET /console/api/snapshot) takes server-side with N users in the pipeline
 * (1,000,000 by default). Needs the stack up (`npm run stack -- up`).
 *
 * It loads N synthetic users into PostgreSQL (users and published outbox rows, by SQL in batches of
 * 5,000, each with its raw-zone object), and the newest five batches into Cassandra, where the
 * snapshot reads users by key (so the table's size does not change a read; the rows read do). Then
 * it reads the snapshot P times as the console function does and prints the first poll (nothing
 * remembered yet) and the steady ones: p50, p99 and max. The synthetic rows and objects are removed
 * afterwards unless --keep-data.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { DeleteObjectsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import pLimit from 'p-limit';
import pg from 'pg';
import { sqsQueue } from '#lib/message-queue.ts';
import { s3RawStore } from '#lib/raw-store.ts';
import { quantile } from '#lib/snapshot/stats.ts';
import { USERS_METADATA } from '#lib/snapshot/raw-zone.ts';
import { snapshotReader } from '#lib/snapshot/snapshot.ts';
import { localAwsConfig, localCassandra, localKafka } from '#infra/stack/local-stage/clients.ts';
import { localDatabaseUrl, localQueueUrl, localResources } from '#infra/stack/local-stage/resources.ts';
import { runMain, say } from './cli.ts';
import { median, writeResults } from './bench-lib.ts';

const BATCH = 5000;
/** Batches whose users also go to Cassandra: the snapshot reconciles five. */
const IN_CASSANDRA = 5;

const USAGE =
  'usage: npm run bench:console [-- --users N] [--polls P] [--keep-data]   (1,000,000 users, 30 polls)';

/** The synthetic batches' ids: 32 hex digits, as fetch's batch ids are. */
const batchId = (i: number): string => createHash('md5').update(`console-bench-${i}`).digest('hex');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '1000000' },
      polls: { type: 'string', default: '30' },
      'keep-data': { type: 'boolean', default: false },
    },
  });
  const users = Number(values.users);
  const polls = Number(values.polls);
  if (!Number.isInteger(users) || users < BATCH || users > 10_000_000)
    throw new Error(`--users must be a whole number from ${BATCH} to 10000000`);
  if (!Number.isInteger(polls) || polls < 2 || polls > 1000)
    throw new Error('--polls must be from 2 to 1000');
  const batches = Math.ceil(users / BATCH);

  const pool = new pg.Pool({ connectionString: localDatabaseUrl, max: 4 });
  const cassandra = localCassandra();
  const kafka = localKafka('bench-console');
  const admin = kafka.admin();
  const s3 = new S3Client({ ...localAwsConfig, forcePathStyle: true });
  const sqs = new SQSClient(localAwsConfig);
  const rawZone = s3RawStore(s3, localResources.rawBucket);
  const ids = Array.from({ length: batches }, (_, i) => batchId(i));
  const day = new Date().toISOString().slice(0, 10);
  const keyOf = (id: string) => `raw/date=${day}/batch=${id}.json`;
  try {
    await cassandra.connect();
    await admin.connect();

    // PostgreSQL: N users and their outbox rows, published, one batch per statement.
    const loadStarted = Date.now();
    for (let b = 0; b < batches; b++) {
      const count = Math.min(BATCH, users - b * BATCH);
      await pool.query(
        `WITH inserted AS (
           INSERT INTO users (user_key, source_seed, source_nats, source_page, source_index, login_uuid,
             username, gender, title, first_name, last_name, email, phone, cell, date_of_birth,
             registered_at, street_number, street_name, city, state, country, postcode, latitude,
             longitude, timezone_offset, timezone_description, national_id_name, national_id_value,
             picture_large, picture_medium, picture_thumbnail, nat, content_hash, batch_id)
           SELECT md5($1 || '-' || i)::uuid, 'console-bench', '', $2, i, md5('login' || $1 || i)::uuid,
             'user' || i, 'female', 'Ms', 'Bench', 'User ' || i, 'bench' || i || '@example.com',
             '(555) 010-0000', '(555) 010-0001', '1990-01-01', '2020-01-01', 1, 'Main Street',
             'Springfield', 'State', 'Country', '00000', 0, 0, '+0:00', 'UTC', 'SSN', NULL,
             '', '', '', 'US', sha256(($1 || i)::bytea), $1
             FROM generate_series(0, $3 - 1) AS i
           ON CONFLICT (user_key) DO NOTHING
           RETURNING user_key, version)
         INSERT INTO outbox (event_type, user_key, user_version, published_at)
         SELECT 'user.created', user_key, version, now() FROM inserted`,
        [ids[b], b + 1, count],
      );
      await s3.send(
        new PutObjectCommand({
          Bucket: localResources.rawBucket,
          Key: keyOf(ids[b] ?? ''),
          Body: '{}',
          Metadata: { [USERS_METADATA]: String(count) },
        }),
      );
      if ((b + 1) % 20 === 0 || b + 1 === batches)
        say(
          `loaded ${Math.min((b + 1) * BATCH, users).toLocaleString('en')} of ${users.toLocaleString('en')} users`,
        );
    }
    // The newest batches' users in Cassandra, written by key as the sink writes them. Their objects
    // are written again a second later, so that the raw zone lists them as the newest (S3 keeps
    // LastModified to the second).
    const recent = ids.slice(-IN_CASSANDRA);
    await sleep(1100);
    for (const id of recent) {
      await s3.send(
        new PutObjectCommand({
          Bucket: localResources.rawBucket,
          Key: keyOf(id),
          Body: '{}',
          Metadata: { [USERS_METADATA]: String(BATCH) },
        }),
      );
    }
    const { rows: recentKeys } = await pool.query<{ user_key: string }>(
      'SELECT user_key::text FROM users WHERE batch_id = ANY($1)',
      [recent],
    );
    const limit = pLimit(128);
    await Promise.all(
      recentKeys.map(({ user_key }) =>
        limit(() =>
          cassandra.execute(
            `INSERT INTO ${localResources.keyspace}.users (user_key, version, updated_at, sunk_at) VALUES (?, 1, ?, ?)`,
            [user_key, new Date(), new Date()],
            { prepare: true },
          ),
        ),
      ),
    );
    await pool.query('ANALYZE users; ANALYZE outbox');
    const total = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM users')).rows[0]?.n ?? 0;
    say(
      `loaded in ${((Date.now() - loadStarted) / 1000).toFixed(0)} s; PostgreSQL holds ${total.toLocaleString('en')} users`,
    );

    const readSnapshot = snapshotReader({
      resources: {
        stage: localResources.stage,
        rawBucket: localResources.rawBucket,
        usersTopic: localResources.usersTopic,
        keyspace: localResources.keyspace,
        deadLetterQueueUrl: localQueueUrl(localResources.deadLetterQueue),
        failedBatchesQueueUrl: localQueueUrl(localResources.failedBatchesQueue),
        consumerGroups: [
          { groupId: localResources.sinkConsumerGroup, label: 'sink' },
          ...localResources.sparkConsumerGroups.map((groupId) => ({ groupId, label: groupId })),
        ],
      },
      db: () => Promise.resolve(pool),
      cassandra: () => Promise.resolve(cassandra),
      kafkaAdmin: () => Promise.resolve(admin),
      // S3 and SQS of the emulator, as the aws stage reads them (the local stage's console reads its
      // folders instead, LOCAL_STORE_DIR): the objects above are planted there.
      rawZone: () => rawZone,
      deadLetters: () => sqsQueue(sqs, localQueueUrl(localResources.deadLetterQueue)),
      failedBatches: () => sqsQueue(sqs, localQueueUrl(localResources.failedBatchesQueue)),
      probes: { postgres: () => pool.query('SELECT 1') },
    });
    const durations: number[] = [];
    const partMs = new Map<string, number[]>();
    let unreadable: string[] = [];
    for (let i = 0; i < polls; i++) {
      const snapshot = await readSnapshot();
      durations.push(snapshot.durationMs);
      const {
        raw,
        postgres,
        topic,
        batches: reconciled,
        freshness,
        aggregates,
        deadLetters,
        failedBatches,
      } = snapshot;
      const parts = Object.entries({
        raw,
        postgres,
        topic,
        reconciled,
        freshness,
        aggregates,
        deadLetters,
        failedBatches,
      });
      unreadable = parts.filter(([, part]) => !part.ok).map(([name]) => name);
      if (i > 0)
        for (const [name, part] of parts) partMs.set(name, [...(partMs.get(name) ?? []), part.ms ?? 0]);
      // The page polls every 2 s; a shorter pause keeps the run short and changes nothing read.
      await sleep(200);
    }
    const steady = durations.slice(1).sort((a, b) => a - b);
    const figures = {
      users: total,
      polls,
      firstPollMs: durations[0],
      steadyP50Ms: quantile(steady, 0.5),
      steadyP99Ms: quantile(steady, 0.99),
      steadyMaxMs: steady.at(-1),
      unreadableParts: unreadable,
      /** The steady polls' median per part: they are read at once, so the poll takes about the longest. */
      partMedianMs: Object.fromEntries([...partMs].map(([name, ms]) => [name, median(ms)])),
    };
    say(
      `\nconsole poll with ${total.toLocaleString('en')} users in PostgreSQL: first ${figures.firstPollMs} ms, ` +
        `then p50 ${figures.steadyP50Ms} ms, p99 ${figures.steadyP99Ms} ms, max ${figures.steadyMaxMs} ms ` +
        `over ${polls - 1} polls${unreadable.length > 0 ? `; UNREADABLE: ${unreadable.join(', ')}` : ''}`,
    );
    say(
      `per part (median): ${Object.entries(figures.partMedianMs)
        .map(([name, ms]) => `${name} ${ms} ms`)
        .join(', ')}`,
    );
    writeResults('console-poll', figures);
  } finally {
    if (!values['keep-data']) {
      say('removing the synthetic users, outbox rows, raw objects and Cassandra rows');
      const { rows } = await pool.query<{ user_key: string }>(
        'SELECT user_key::text FROM users WHERE batch_id = ANY($1)',
        [ids.slice(-IN_CASSANDRA)],
      );
      const limit = pLimit(128);
      await Promise.all(
        rows.map(({ user_key }) =>
          limit(() =>
            cassandra.execute(`DELETE FROM ${localResources.keyspace}.users WHERE user_key = ?`, [user_key], {
              prepare: true,
            }),
          ),
        ),
      );
      await pool.query(
        'DELETE FROM outbox o USING users u WHERE o.user_key = u.user_key AND u.batch_id = ANY($1)',
        [ids],
      );
      // Each deleted user's foreign-key check looks for its outbox rows: by an index for the
      // while, not by a scan of the outbox per user.
      await pool.query('CREATE INDEX IF NOT EXISTS outbox_user_key_bench ON outbox (user_key)');
      await pool.query('DELETE FROM users WHERE batch_id = ANY($1)', [ids]);
      await pool.query('DROP INDEX outbox_user_key_bench');
      for (let i = 0; i < ids.length; i += 1000) {
        await s3.send(
          new DeleteObjectsCommand({
            Bucket: localResources.rawBucket,
            Delete: { Objects: ids.slice(i, i + 1000).map((id) => ({ Key: keyOf(id) })) },
          }),
        );
      }
    }
    await admin.disconnect();
    await cassandra.shutdown();
    await pool.end();
    s3.destroy();
    sqs.destroy();
  }
}

runMain('bench:console', main, { usage: USAGE });
