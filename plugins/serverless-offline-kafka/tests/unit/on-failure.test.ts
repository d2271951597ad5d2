import { mkdtempSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildFailureRecord, createDirectoryDestination } from '#plugin/on-failure.ts';

describe('the directory destination (an emulator that keeps nothing across a restart)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'offline-kafka-destination-'));
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes each on-failure record as one JSON file in its queue's folder", async () => {
    const record = buildFailureRecord({
      requestId: 'r-1',
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:sink',
      source: { kind: 'kafka', bootstrapServers: '127.0.0.1:9092' },
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 11,
      response: { statusCode: 200, functionError: 'Unhandled' },
      batchSize: 2,
      payloadBytes: 100,
      partitions: new Map(),
      now: new Date('2026-12-01T00:00:00Z'),
    });
    const destination = createDirectoryDestination(dir);
    await destination.send(
      'arn:aws:sqs:us-east-1:000000000000:sink-failed-batches',
      record,
      AbortSignal.timeout(5000),
    );
    destination.close();

    const files = await readdir(path.join(dir, 'sink-failed-batches'));
    expect(files).toHaveLength(1);
    expect(JSON.parse(await readFile(path.join(dir, 'sink-failed-batches', files[0] ?? ''), 'utf8'))).toEqual(
      JSON.parse(JSON.stringify(record)),
    );
    await expect(
      destination.send('arn:aws:sns:us-east-1:000000000000:t', record, AbortSignal.timeout(5000)),
    ).rejects.toThrow('not an SQS queue ARN');
  });
});
