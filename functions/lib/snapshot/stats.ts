import type { Freshness } from '#functions/console/api.ts';

/** The value at quantile `q` (0–1) of ascending `sorted`, nearest rank; null when empty. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? null;
}

/** Upper bounds of the freshness histogram's buckets, in ms; one more bucket holds the rest. */
export const FRESHNESS_BUCKETS_MS = [100, 250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000] as const;

/** The distribution of `delaysMs` (PostgreSQL commit → Cassandra write), as the console charts it. */
export function freshnessOf(delaysMs: readonly number[]): Freshness {
  const sorted = [...delaysMs].sort((a, b) => a - b);
  const counts: number[] = new Array<number>(FRESHNESS_BUCKETS_MS.length + 1).fill(0);
  for (const delay of sorted) {
    const bucket = FRESHNESS_BUCKETS_MS.findIndex((bound) => delay <= bound);
    const index = bucket === -1 ? FRESHNESS_BUCKETS_MS.length : bucket;
    counts[index] = (counts[index] ?? 0) + 1;
  }
  return {
    samples: sorted.length,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    maxMs: sorted.at(-1) ?? null,
    bucketsMs: [...FRESHNESS_BUCKETS_MS],
    counts,
  };
}
