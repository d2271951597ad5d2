/**
 * Ingest benchmark (`npm run bench:ingest`): users/s for fetch (against the stack's randomuser source, into
 * the S3 raw zone) and for persist (S3 → PostgreSQL users + outbox) at 100,000 users, next to the
 * randomuser source alone and PostgreSQL's raw COPY rate of the same rows, all measured in one run.
 * Prints a table of medians and writes .local/bench/ingest.json. Brings the stack up if it is down.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { fetchBatch } from '#functions/fetch/fetch-batch.ts';
import { randomuserSource } from '#functions/fetch/source.ts';
import { normalizeBatch, USER_COLUMNS } from '#functions/persist/normalize.ts';
import { persistBatch } from '#functions/persist/persist-batch.ts';
import { copyLines, writeUsers } from '#functions/persist/user-store.ts';
import { RawBatch } from '#lib/batch.ts';
import { s3RawStore } from '#lib/raw-store.ts';
import { localDatabaseUrl, localResources } from '#infra/stack/local-stage/resources.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import { allRunning, down, up } from '#infra/stack/stack.ts';
import { median, writeResults } from './bench-lib.ts';
import { S3Client } from '@aws-sdk/client-s3';
import { runMain, say } from './cli.ts';

const USERS = Number(process.argv[2] ?? '100000');
const RUNS = Number(process.argv[3] ?? '3');
const rate = (count: number, ms: number): number => Math.round(count / (ms / 1000));
async function timed<T>(task: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await task();
  return { ms: performance.now() - started, value };
}

/** The source alone: the same pages fetch asks for, fetched and parsed, nothing else. */
async function sourceRate(): Promise<number> {
  const pages = Math.ceil(USERS / 5000);
  const { ms } = await timed(async () => {
    for (let page = 1; page <= pages; page++) {
      const response = await fetch(
        `${endpoints.randomuser.url}/api/?results=5000&seed=bench-source&page=${page}`,
      );
      await response.json();
    }
  });
  return rate(pages * 5000, ms);
}

/** PostgreSQL's raw COPY of the same rows into a temporary table of the same columns. */
async function copyRate(pool: pg.Pool, rows: ReturnType<typeof normalizeBatch>): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `CREATE TEMP TABLE bench_copy ON COMMIT DROP AS SELECT ${USER_COLUMNS.join(', ')} FROM users WITH NO DATA`,
    );
    // The same lines persist sends, materialised first so that only PostgreSQL's side is timed.
    const lines = [...copyLines(rows)];
    const { ms } = await timed(() =>
      pipeline(
        Readable.from(lines),
        client.query(copyFrom(`COPY bench_copy (${USER_COLUMNS.join(', ')}) FROM STDIN`)),
      ),
    );
    await client.query('ROLLBACK');
    return rate(rows.length, ms);
  } finally {
    client.release();
  }
}

async function main(): Promise<void> {
  const wasUp = await allRunning();
  await up();
  const s3 = new S3Client({
    endpoint: endpoints.aws.endpoint,
    region: endpoints.aws.region,
    credentials: endpoints.aws.credentials,
    forcePathStyle: true,
  });
  const store = s3RawStore(s3, localResources.rawBucket);
  const pool = new pg.Pool({ connectionString: localDatabaseUrl, max: 2 });
  const runId = Date.now().toString(36);
  const results = {
    source: [] as number[],
    fetch: [] as number[],
    persist: [] as number[],
    replay: [] as number[],
    copy: [] as number[],
  };

  for (let run = 1; run <= RUNS; run++) {
    results.source.push(await sourceRate());
    const fetched = await timed(() =>
      fetchBatch(
        { count: USERS, seed: `bench-${runId}-${run}` },
        {
          fetchPage: randomuserSource({
            RANDOMUSER_BASE_URL: endpoints.randomuser.url,
            FETCH_TIMEOUT_MS: 30_000,
            FETCH_MAX_ATTEMPTS: 3,
          }),
          store,
          limiter: { acquire: () => Promise.resolve() },
          now: () => new Date(),
          newSeed: () => 'unused',
          // As the local stage runs fetch (serverless.yml params.local.fetchConcurrency).
          limits: { maxCount: USERS, pageSize: 5000, concurrency: 4 },
          sourceUrl: endpoints.randomuser.url,
        },
      ),
    );
    results.fetch.push(rate(fetched.value.count, fetched.ms));
    const deps = { store, writeUsers: (rows: Parameters<typeof writeUsers>[1]) => writeUsers(pool, rows) };
    const persisted = await timed(() => persistBatch({ key: fetched.value.key }, deps));
    results.persist.push(rate(persisted.value.users, persisted.ms));
    const replayed = await timed(() => persistBatch({ key: fetched.value.key }, deps));
    results.replay.push(rate(replayed.value.users, replayed.ms));
    const rows = normalizeBatch(RawBatch.parse(await store.get(fetched.value.key)));
    results.copy.push(await copyRate(pool, rows));
    say(
      `run ${run}/${RUNS}: source ${results.source.at(-1)}/s, fetch ${results.fetch.at(-1)}/s, persist ${results.persist.at(-1)}/s, replay ${results.replay.at(-1)}/s, COPY ${results.copy.at(-1)}/s`,
    );
  }
  await pool.end();
  s3.destroy();

  const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)])) as Record<
    keyof typeof results,
    number
  >;
  const table = [
    ['stage', 'users/s (median)', 'target', 'note'],
    ['randomuser source alone', String(m.source), '-', `GET + JSON parse of 5000-user pages`],
    ['fetch → S3 raw zone', String(m.fetch), '≥ 20000', 'validate, drop secrets, land the batch'],
    [
      'persist (new users)',
      String(m.persist),
      '≥ 10000',
      `${Math.round((100 * m.persist) / m.copy)}% of raw COPY (target ≥ 50%)`,
    ],
    ['persist (replay, unchanged)', String(m.replay), '-', 'the same batch again: no row changes'],
    ['PostgreSQL raw COPY', String(m.copy), '-', 'the same rows into a temp table'],
  ];
  const widths = table[0]?.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length))) ?? [];
  say(`\n${USERS} users per run, ${RUNS} runs, medians:`);
  for (const row of table) say(row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
  writeResults('ingest', { when: new Date().toISOString(), users: USERS, runs: results, medians: m });
  if (!wasUp) await down();
}

runMain('bench', main, {
  usage: 'usage: npm run bench:ingest [-- <users> [runs]]   (100000 users, 3 runs by default)',
  stack: true,
});
