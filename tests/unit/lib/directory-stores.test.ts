import { mkdtempSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '#lib/atomic-file.ts';
import { directoryQueue, queueNameOf, queueOf } from '#lib/message-queue.ts';
import { directoryRawStore, INVALID_JSON, rawStoreOf } from '#lib/raw-store.ts';

/** The local stage's durable store, in a folder of its own per test. */
let dir = '';
/** A message whose body is `{ n }`. */
const letter = (n: number) => ({ body: JSON.stringify({ n }) });
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'local-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('replaces a file whole, leaving no temporary file behind', async () => {
    const file = path.join(dir, 'a', 'b.json');
    await writeFileAtomic(file, 'first');
    await writeFileAtomic(file, 'second');
    expect(await readFile(file, 'utf8')).toBe('second');
    expect(await readdir(path.dirname(file))).toEqual(['b.json']);
  });

  it('leaves what was there, and no temporary file, when the rename cannot happen', async () => {
    // A folder with something in it cannot be renamed over: the write fails after the data is written.
    const target = path.join(dir, 'taken');
    await mkdir(target);
    await writeFile(path.join(target, 'inside'), 'kept');
    await expect(writeFileAtomic(target, 'new')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['taken']);
    expect(await readFile(path.join(target, 'inside'), 'utf8')).toBe('kept');
  });
});

describe('directoryRawStore, the local raw zone', () => {
  it('keeps a document and its metadata, and a new store over the same folder reads them back', async () => {
    const key = 'raw/date=2026-12-01/batch=0123456789abcdef0123456789abcdef.json';
    await directoryRawStore(dir).put(key, { users: [1, 2] }, { users: '2' });

    const reopened = directoryRawStore(dir);
    expect(await reopened.get(key)).toEqual({ users: [1, 2] });
    expect(await reopened.head(key)).toEqual({ users: '2' });
    // The document itself, as S3 would hold it, with its metadata beside it.
    expect(JSON.parse(await readFile(path.join(dir, key), 'utf8'))).toEqual({ users: [1, 2] });
    expect(await readdir(path.join(dir, 'raw/date=2026-12-01'))).toEqual([
      'batch=0123456789abcdef0123456789abcdef.json',
      'batch=0123456789abcdef0123456789abcdef.json.metadata.json',
    ]);
  });

  it('answers undefined for a missing key and invalid-json for an object that is not JSON', async () => {
    const store = directoryRawStore(dir);
    expect(await store.get('raw/none.json')).toBeUndefined();
    expect(await store.head('raw/none.json')).toBeUndefined();
    await mkdir(path.join(dir, 'raw'));
    await writeFile(path.join(dir, 'raw/broken.json'), '{"cut off');
    expect(await store.get('raw/broken.json')).toBe(INVALID_JSON);
    // Keys no file can have answer as S3 answers a missing key (S3 takes keys up to 1,024 bytes).
    expect(await store.get(`raw/${'a'.repeat(1100)}.json`)).toBeUndefined();
    expect(await store.get('raw/broken.json/below.json')).toBeUndefined();
  });

  it('lists the objects under a prefix in key order, without metadata or a temporary file a crash left', async () => {
    const store = directoryRawStore(dir);
    for (const key of [
      'raw/date=2026-12-01/b.json',
      'raw/date=2026-12-01/a.json',
      'raw/date=2026-11-30/c.json',
    ])
      await store.put(key, { key });
    await writeFile(path.join(dir, 'raw/date=2026-12-01/d.json.1a2b3c.tmp'), '{"half');

    const day = await store.list('raw/date=2026-12-01/', 10);
    expect(day.objects.map((o) => o.key)).toEqual([
      'raw/date=2026-12-01/a.json',
      'raw/date=2026-12-01/b.json',
    ]);
    expect(day.truncated).toBe(false);
    expect(day.objects[0]?.bytes).toBe(JSON.stringify({ key: 'raw/date=2026-12-01/a.json' }).length);
    expect((await store.list('raw/', 2)).truncated).toBe(true);
    expect((await store.list('raw/date=2026-11-29/', 10)).objects).toEqual([]);
  });

  it('refuses a key that would leave its folder', async () => {
    await expect(directoryRawStore(dir).put('../outside.json', {})).rejects.toThrow('not a raw zone key');
  });
});

describe('directoryQueue, the local queues', () => {
  it('keeps one file per message, and a new queue over the same folder receives them oldest first', async () => {
    let now = 1_000;
    const queue = directoryQueue(dir, () => now++);
    await queue.send([letter(1), letter(2)]);
    await queue.send([letter(3)]);
    expect(await readdir(dir)).toHaveLength(3);

    const reopened = directoryQueue(dir);
    const received = await reopened.receive(10, 30);
    expect(received.map((m) => JSON.parse(m.body) as unknown)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect((await reopened.receive(2, 30)).map((m) => m.body)).toEqual([letter(1).body, letter(2).body]);
    expect(await reopened.count()).toEqual({ visible: 3, inFlight: 0 });
  });

  it('orders by the time sent, not by the order of files in the folder', async () => {
    const times = [5_000, 2_000, 9_000];
    const queue = directoryQueue(dir, () => times.shift() ?? 0);
    await queue.send([letter(5), letter(2), letter(9)]);
    expect((await queue.receive(10, 0)).map((m) => JSON.parse(m.body) as unknown)).toEqual([
      { n: 2 },
      { n: 5 },
      { n: 9 },
    ]);
  });

  it('deletes a received message by unlinking its file; what is left stays, for a new queue too', async () => {
    const queue = directoryQueue(dir);
    await queue.send([letter(1), letter(2)]);
    const [first] = await queue.receive(1, 30);
    if (first === undefined) throw new Error('nothing received');
    await queue.release([first]);
    await queue.delete([first]);
    // Deleting twice (a replay that ran twice) is no error.
    await queue.delete([first]);
    expect((await directoryQueue(dir).receive(10, 30)).map((m) => m.body)).toEqual([letter(2).body]);
    expect(await readdir(dir)).toHaveLength(1);
  });

  it('is empty before anything was sent, and skips a temporary file a crash left', async () => {
    const queue = directoryQueue(path.join(dir, 'never-written'));
    expect(await queue.receive(10, 30)).toEqual([]);
    expect(await queue.count()).toEqual({ visible: 0, inFlight: 0 });
    await queue.send([letter(1)]);
    await writeFile(path.join(dir, 'never-written', '000000000000001-ab.json.ff00.tmp'), '{"ha');
    expect((await queue.receive(10, 30)).map((m) => m.body)).toEqual([letter(1).body]);
  });
});

describe('the store a function chooses from its settings', () => {
  const aws = { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:1' };

  it('uses the folders of LOCAL_STORE_DIR, by bucket and queue name, when it is set', async () => {
    const queueUrl = 'http://127.0.0.1:1/000000000000/user-pipeline-local-sink-dlq';
    expect(queueNameOf(queueUrl)).toBe('user-pipeline-local-sink-dlq');
    await queueOf({ ...aws, LOCAL_STORE_DIR: dir }, queueUrl).send([letter(1)]);
    expect(await readdir(path.join(dir, 'user-pipeline-local-sink-dlq'))).toHaveLength(1);

    await rawStoreOf({ ...aws, RAW_BUCKET: 'user-pipeline-local-raw', LOCAL_STORE_DIR: dir }).put(
      'raw/x.json',
      {},
    );
    expect(await readdir(path.join(dir, 'user-pipeline-local-raw', 'raw'))).toContain('x.json');
  });

  it('uses S3 and SQS when it is not (the aws stage)', async () => {
    // Nothing listens on the endpoint: the call fails there, and nothing is written to any folder.
    await expect(
      rawStoreOf({ ...aws, RAW_BUCKET: 'user-pipeline-aws-raw' }).put('raw/x.json', {}),
    ).rejects.toThrow('could not write s3://user-pipeline-aws-raw/raw/x.json');
    await expect(queueOf(aws, 'http://127.0.0.1:1/000000000000/q').send([letter(1)])).rejects.toThrow();
  });
});
