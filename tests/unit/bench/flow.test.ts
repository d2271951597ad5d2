import { describe, expect, it } from 'vitest';
import { flowSince, reachedAt, readFlow, type FlowSample } from '#scripts/bench/flow.ts';

/** Kafka admin answers: the topic's end offsets, and each group's committed offsets (-1: never). */
function admin(highs: number[], committed: Record<string, number[]>) {
  return {
    fetchTopicOffsets: () =>
      Promise.resolve(
        highs.map((high, partition) => ({ partition, low: '0', high: String(high), offset: String(high) })),
      ),
    fetchOffsets: ({ groupId }: { groupId: string }) =>
      Promise.resolve([
        {
          topic: 'users',
          partitions: (committed[groupId] ?? []).map((offset, partition) => ({
            partition,
            offset: String(offset),
            metadata: null,
          })),
        },
      ]),
  };
}

describe('readFlow', () => {
  it('counts the outbox, the topic, what the sink committed and what every Spark query committed', async () => {
    const pool = { query: () => Promise.resolve({ rows: [{ id: '1200' }] }) };
    const counts = await readFlow(
      pool as never,
      admin([500, 700], { sink: [400, 700], 'spark-a': [500, 600], 'spark-b': [300, -1] }),
      'users',
      { sink: 'sink', spark: ['spark-a', 'spark-b'] },
    );
    // A partition never committed counts as nothing; Spark's aggregates are as far as its slowest query.
    expect(counts).toEqual({ persisted: 1200, published: 1200, sunk: 1100, aggregated: 300 });
  });
});

describe('a run against its baseline', () => {
  const baseline = { persisted: 100, published: 90, sunk: 80, aggregated: 70 };

  it("is the counters' growth since the run started", () => {
    expect(flowSince({ persisted: 150, published: 120, sunk: 80, aggregated: 75 }, baseline)).toEqual({
      persisted: 50,
      published: 30,
      sunk: 0,
      aggregated: 5,
    });
  });

  it('reached a stage at the first sample that counts every user, and never if none does', () => {
    const at = (t: number, sunk: number): FlowSample => ({
      t,
      counts: { persisted: 10, published: 10, sunk, aggregated: 0 },
    });
    const samples = [at(0.5, 0), at(1, 6), at(1.5, 10), at(2, 10)];
    expect(reachedAt(samples, 'sunk', 10)).toBe(1.5);
    expect(reachedAt(samples, 'aggregated', 10)).toBeUndefined();
  });
});
