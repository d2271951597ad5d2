import { describe, expect, it, vi } from 'vitest';
import { batchAggregates } from '#lib/snapshot/aggregates.ts';
import { batchReconciler, countBatch, stoppedAt, type BatchUser } from '#lib/snapshot/batches.ts';
import { describeError, part } from '#lib/snapshot/part.ts';
import { batchIdOfKey } from '#lib/snapshot/raw-zone.ts';
import { probeServices } from '#lib/snapshot/services.ts';
import { freshnessOf, quantile } from '#lib/snapshot/stats.ts';
import { topicProgress } from '#lib/snapshot/topic.ts';

const user = (userKey: string, version = 1, published = true): BatchUser => ({ userKey, version, published });

describe('freshness statistics', () => {
  it('takes nearest-rank quantiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(sorted, 0.5)).toBe(50);
    expect(quantile(sorted, 0.99)).toBe(99);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.5)).toBeNull();
  });

  it('puts each delay in the first bucket it fits, the rest past the last bound', () => {
    const f = freshnessOf([50, 100, 101, 900, 120_000]);
    expect(f).toMatchObject({ samples: 5, p50Ms: 101, maxMs: 120_000 });
    expect(f.counts).toHaveLength(f.bucketsMs.length + 1);
    expect(f.counts[0]).toBe(2);
    expect(f.counts[1]).toBe(1);
    expect(f.counts.at(-1)).toBe(1);
    expect(f.counts.reduce((a, b) => a + b, 0)).toBe(5);
    expect(freshnessOf([])).toMatchObject({ samples: 0, p50Ms: null, p99Ms: null, maxMs: null });
  });
});

describe('a batch across the stores', () => {
  it('counts users in Cassandra at their version or newer only', () => {
    const users = [user('a', 2), user('b', 1, false), user('c')];
    const counts = countBatch(
      users,
      new Map([
        ['a', 1],
        ['c', 3],
      ]),
    );
    expect(counts).toEqual({ users: 3, published: 2, inCassandra: 1, complete: false });
    expect(countBatch([], new Map()).complete).toBe(false);
  });

  it('names the stage where missing users stopped', () => {
    const all = { users: 3, published: 3, inCassandra: 3, complete: true };
    expect(stoppedAt({ ...all, users: 0, published: 0, inCassandra: 0, complete: false }, null)).toBe(
      'persist',
    );
    expect(stoppedAt({ ...all, published: 2 }, null)).toBe('outbox');
    expect(stoppedAt({ ...all, inCassandra: 1 }, null)).toBe('kafka-or-sink');
    expect(stoppedAt(all, 2)).toBe('aggregates');
    expect(stoppedAt(all, 3)).toBeNull();
    expect(stoppedAt(all, null)).toBeNull();
  });

  it('reads Cassandra only for the users it has not yet seen land at their version', async () => {
    const landed = new Map<string, number>();
    const versionsInCassandra = vi.fn((keys: readonly string[]) =>
      Promise.resolve(
        new Map(keys.flatMap((k) => (landed.has(k) ? [[k, landed.get(k) ?? 0] as const] : []))),
      ),
    );
    let users = [user('a'), user('b')];
    const usersOfBatch = vi.fn(() => Promise.resolve(users));
    const reconcile = batchReconciler({
      usersOfBatch,
      fingerprints: (ids: readonly string[]) =>
        Promise.resolve(new Map(ids.map((id) => [id, users.map((u) => `${u.userKey}${u.version}`).join()]))),
      versionsInCassandra,
      aggregatedUsers: () => Promise.resolve(2),
    });
    landed.set('a', 1);
    expect((await reconcile([{ batchId: 'b1', at: 'now' }]))[0]).toMatchObject({
      cassandra: 1,
      complete: false,
      stoppedAt: 'kafka-or-sink',
    });
    landed.set('b', 1);
    expect((await reconcile([{ batchId: 'b1', at: 'now' }]))[0]).toMatchObject({
      cassandra: 2,
      complete: true,
      aggregates: 2,
      stoppedAt: null,
    });
    expect(versionsInCassandra.mock.calls.map(([keys]) => keys)).toEqual([['a', 'b'], ['b']]);
    // Landed at their version: nothing more to read, not even the batch's rows, until it changes.
    await reconcile([{ batchId: 'b1', at: 'now' }]);
    expect(versionsInCassandra).toHaveBeenCalledTimes(2);
    expect(usersOfBatch).toHaveBeenCalledTimes(2);
    users = [user('a', 2), user('b')];
    expect((await reconcile([{ batchId: 'b1', at: 'now' }]))[0]).toMatchObject({
      cassandra: 1,
      complete: false,
    });
    expect(versionsInCassandra.mock.calls.at(-1)?.[0]).toEqual(['a']);
  });
});

describe('the topic and its consumer groups', () => {
  it('gives each group its lag per partition, from the low watermark where it never committed', async () => {
    const admin = {
      fetchTopicOffsets: () =>
        Promise.resolve([
          { partition: 1, offset: '9', high: '9', low: '2' },
          { partition: 0, offset: '10', high: '10', low: '0' },
        ]),
      fetchOffsets: ({ groupId }: { groupId: string }) =>
        Promise.resolve([
          {
            topic: 't',
            partitions:
              groupId === 'sink'
                ? [
                    { partition: 0, offset: '4', metadata: null },
                    { partition: 1, offset: '-1', metadata: null },
                  ]
                : [],
          },
        ]),
    };
    const side = await topicProgress(admin, 't', [
      { groupId: 'sink', label: 'sink' },
      { groupId: 'spark', label: 'Spark' },
    ]);
    expect(side.partitions).toEqual([
      { partition: 0, low: 0, high: 10 },
      { partition: 1, low: 2, high: 9 },
    ]);
    expect(side.records).toBe(17);
    expect(side.groups[0]).toEqual({
      groupId: 'sink',
      label: 'sink',
      partitions: [
        { partition: 0, committed: 4, lag: 6 },
        { partition: 1, committed: null, lag: 7 },
      ],
      lag: 13,
    });
    expect(side.groups[1]?.lag).toBe(17);
  });
});

describe('parts and probes', () => {
  it('turns a failure or a timeout into that part’s error, without a stack', async () => {
    expect(await part(() => Promise.resolve(1))).toEqual({
      ok: true,
      data: 1,
      ms: expect.any(Number) as unknown,
    });
    const failed = await part(() =>
      Promise.reject(new Error('connect ECONNREFUSED\n    at x', { cause: new Error('inner') })),
    );
    expect(failed).toMatchObject({ ok: false, error: 'connect ECONNREFUSED: inner' });
    expect(await part(() => new Promise(() => undefined), 20)).toMatchObject({
      ok: false,
      error: 'no answer within 20 ms',
    });
    expect(describeError('plain')).toBe('plain');
  });

  it('marks a service down with its reason, the others up with their latency', async () => {
    const services = await probeServices(
      { postgres: () => Promise.resolve(), kafka: () => Promise.reject(new Error('refused')) },
      100,
    );
    expect(services).toEqual([
      { name: 'postgres', up: true, latencyMs: expect.any(Number) as unknown },
      { name: 'kafka', up: false, latencyMs: null, error: 'refused' },
    ]);
  });

  it('finds the batch id in a raw key, and nothing in another object', () => {
    expect(batchIdOfKey('raw/date=2026-12-01/batch=0123456789abcdef0123456789abcdef.json')).toBe(
      '0123456789abcdef0123456789abcdef',
    );
    expect(batchIdOfKey('raw/other.json')).toBeUndefined();
  });
});

describe("a batch's users in Spark's aggregates", () => {
  it('takes the other users created in its minutes off, and counts a settled minute once', async () => {
    const minute = new Date('2026-12-01T10:00:00Z');
    let clock = minute.getTime() + 60_000;
    const queries: string[] = [];
    const db = {
      query: (sql: string) => {
        queries.push(sql);
        return Promise.resolve({
          rows: sql.includes('GROUP BY') ? [{ minute, own: '500' }] : [{ n: '800' }],
        });
      },
    };
    const cassandra = {
      execute: () =>
        Promise.resolve({
          rows: [{ get: () => ({ toString: () => '700' }) }, { get: () => ({ toString: () => '90' }) }],
        }),
    };
    const aggregated = batchAggregates(
      () => Promise.resolve(db as never),
      () => Promise.resolve(cassandra as never),
      'ks',
      { now: () => clock },
    );
    // The minute is still open: not yet.
    expect(await aggregated('b1')).toBeNull();
    clock += 31_000;
    // Spark counted 790 in the minute; 300 of PostgreSQL's 800 came from other batches.
    expect(await aggregated('b1')).toBe(490);
    expect(await aggregated('b1')).toBe(490);
    expect(queries.filter((q) => q.includes('created_at >= $1'))).toHaveLength(1);
  });
});
