import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listDeadLetters, peekMessages } from '#functions/console/dead-letters.ts';
import { deadLetterOf, sendDeadLetters } from '#functions/sink/dead-letter.ts';
import { ConsoleSettings, FetchSettings, loadSettings, PersistSettings, SinkSettings } from '#lib/config.ts';
import { queueOf } from '#lib/message-queue.ts';
import { rawStoreOf } from '#lib/raw-store.ts';
import { isAlive, sleep } from '#infra/stack/lib/process.ts';
import { localFunctionEnvironment } from '#infra/stack/local-stage/function-env.ts';
import { services } from '#infra/stack/services/index.ts';
import { down, up } from '#infra/stack/stack.ts';
import { buildFailureRecord, createDirectoryDestination } from '#plugin/on-failure.ts';
import { kafkaRecord } from '../fixtures/kafka-events.ts';
import { unique } from '../support/clients.ts';

/** Each store as the local stage's functions choose it from the environment serverless.yml gives them. */
const sink = loadSettings(SinkSettings, localFunctionEnvironment('sink'));
const fetch = loadSettings(FetchSettings, localFunctionEnvironment('fetch'));
const consoleSettings = loadSettings(ConsoleSettings, localFunctionEnvironment('console'));
const deadLetters = queueOf(consoleSettings, consoleSettings.DEAD_LETTER_QUEUE_URL);
const failedBatches = queueOf(consoleSettings, consoleSettings.FAILED_BATCHES_QUEUE_URL);

/** kill -9 of the AWS emulator's process, as crash-recovery.test.ts does for the other services. */
async function killAws(): Promise<void> {
  const pid = await services.find((s) => s.name === 'aws')?.pid();
  if (pid === undefined) throw new Error('aws is not running');
  process.kill(pid, 'SIGKILL');
  while (await isAlive(pid)) await sleep(100);
}

/**
 * LocalStack community keeps nothing across a restart: the local stage's dead letters, failed batches
 * and raw zone live in the local store's folders (LOCAL_STORE_DIR), which outlive the emulator. This
 * restarts the stack's AWS emulator: not for a stack someone else is using.
 */
describe('the local store across a restart of the AWS emulator', () => {
  const planted: { reason: string; key: string; requestId: string }[] = [];

  afterAll(async () => {
    const reasons = new Set(planted.map((p) => p.reason));
    const letters = await deadLetters.receive(Number.POSITIVE_INFINITY, 0);
    await deadLetters.delete(
      letters.filter((m) => reasons.has((JSON.parse(m.body) as { reason?: string }).reason ?? '')),
    );
    const ids = new Set(planted.map((p) => p.requestId));
    const records = await failedBatches.receive(Number.POSITIVE_INFINITY, 0);
    await failedBatches.delete(
      records.filter((m) =>
        ids.has(
          (JSON.parse(m.body) as { requestContext?: { requestId?: string } }).requestContext?.requestId ?? '',
        ),
      ),
    );
    for (const { key } of planted) {
      await rm(path.join(fetch.LOCAL_STORE_DIR ?? '', fetch.RAW_BUCKET, key), { force: true });
      await rm(path.join(fetch.LOCAL_STORE_DIR ?? '', fetch.RAW_BUCKET, `${key}.metadata.json`), {
        force: true,
      });
    }
  });

  /** Three dead letters, a failed batch's record and a raw object, written as the functions write them. */
  async function plant(): Promise<(typeof planted)[number]> {
    const reason = unique('undecodable: planted before a restart');
    const letters = [1, 2, 3].map((offset) =>
      deadLetterOf(
        kafkaRecord({ key: `k${offset}`, value: Buffer.from('not avro'), offset }),
        reason,
        new Date(),
      ),
    );
    await sendDeadLetters(queueOf(sink, sink.DEAD_LETTER_QUEUE_URL), letters);
    const requestId = unique('failed-batch');
    const destination = createDirectoryDestination(sink.LOCAL_STORE_DIR ?? '');
    await destination.send(
      'arn:aws:sqs:us-east-1:000000000000:user-pipeline-local-sink-failed-batches',
      buildFailureRecord({
        requestId,
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:user-pipeline-local-sink',
        source: { kind: 'kafka', bootstrapServers: '127.0.0.1:9092' },
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 11,
        batchSize: 3,
        payloadBytes: 300,
        partitions: new Map(),
        now: new Date(),
      }),
      AbortSignal.timeout(10_000),
    );
    const key = `raw/date=${new Date().toISOString().slice(0, 10)}/batch=${unique('restart')}.json`;
    await rawStoreOf(fetch).put(key, { users: [{ id: 1 }] }, { users: '1' });
    const entry = { reason, key, requestId };
    planted.push(entry);
    return entry;
  }

  /** What the console and `npm run dlq` read back, and what persist would read the batch from. */
  async function readBack({ reason, key, requestId }: (typeof planted)[number]) {
    const records = (await peekMessages(failedBatches, 1000)) as {
      requestContext?: { requestId?: string };
    }[];
    const raw = rawStoreOf(loadSettings(PersistSettings, localFunctionEnvironment('persist')));
    return {
      deadLetters: (await listDeadLetters(deadLetters)).get(reason),
      failedBatches: records.filter((r) => r.requestContext?.requestId === requestId).length,
      raw: await raw.get(key),
      metadata: await raw.head(key),
    };
  }
  const kept = { deadLetters: 3, failedBatches: 1, raw: { users: [{ id: 1 }] }, metadata: { users: '1' } };

  it('keeps 3 dead letters, a failed batch and a raw object across `down aws` and `up aws`', async () => {
    const entry = await plant();
    expect(await readBack(entry)).toEqual(kept);
    await down(['aws']);
    await up(['aws']);
    expect(await readBack(entry)).toEqual(kept);
  });

  it('keeps them across a kill -9 of the emulator and `up aws`', async () => {
    const entry = await plant();
    await killAws();
    await up(['aws']);
    expect(await readBack(entry)).toEqual(kept);
  });
});
