import { describe, expect, it } from 'vitest';
import type { RawZone, Snapshot } from '#functions/console/api.ts';
import {
  addSample,
  rateSeriesOf,
  recentRate,
  seriesOf,
  usersLanded,
} from '#functions/console/page/history.ts';
import type { Pick, Sample } from '#functions/console/page/history.ts';

const T0 = Date.parse('2026-12-01T12:00:00Z');

/** A batch object landed `at` seconds after T0. */
const object = (n: number, at: number, users: number | null = 100) => ({
  key: `raw/batch-${n}.json.gz`,
  users,
  bytes: 1000,
  at: new Date(T0 + at * 1000).toISOString(),
});

const zone = (latest: RawZone['latest']): RawZone => ({
  batches: latest.length,
  batchesTruncated: false,
  latest,
});

/** A snapshot at `seconds` after T0 with `users` in PostgreSQL and these raw objects (newest first). */
function snapshot(seconds: number, users: number | null, latest: RawZone['latest'] | null = []): Snapshot {
  const down = { ok: false as const, error: 'down' };
  return {
    takenAt: new Date(T0 + seconds * 1000).toISOString(),
    durationMs: 10,
    stage: 'local',
    services: [],
    raw: latest === null ? down : { ok: true, data: zone(latest) },
    postgres:
      users === null
        ? down
        : { ok: true, data: { users, outboxBacklog: 0, oldestUnpublishedAgeMs: null, published: users } },
    topic: down,
    batches: down,
    freshness: down,
    aggregates: down,
    deadLetters: down,
    failedBatches: down,
  };
}

const users: Pick = (s) => (s.snapshot.postgres.ok ? s.snapshot.postgres.data.users : null);

function historyOf(...snapshots: Snapshot[]): Sample[] {
  return snapshots.reduce<Sample[]>((history, next) => addSample(history, next), []);
}

describe('usersLanded', () => {
  it('counts the users of the objects newer than every object seen before', () => {
    const before = zone([object(2, 20), object(1, 10)]);
    const after = zone([object(4, 40, 250), object(3, 30, null), object(2, 20), object(1, 10)]);
    expect(usersLanded(before, after)).toBe(250);
  });

  it('counts nothing for an older object the listing brings back', () => {
    const before = zone([object(3, 30), object(2, 20)]);
    expect(usersLanded(before, zone([object(3, 30), object(1, 10)]))).toBe(0);
  });

  it('counts every object when the zone was empty', () => {
    expect(usersLanded(zone([]), zone([object(1, 10, 40)]))).toBe(40);
  });
});

describe('addSample', () => {
  it('totals the users landed since the first snapshot, across one the raw zone failed', () => {
    const history = historyOf(
      snapshot(0, 10, [object(1, -5)]),
      snapshot(2, 10, [object(2, 1, 30), object(1, -5)]),
      snapshot(4, 10, null),
      snapshot(6, 10, [object(3, 5, 20), object(2, 1, 30), object(1, -5)]),
    );
    expect(history.map((sample) => sample.landedUsers)).toEqual([0, 30, 30, 50]);
  });

  it('keeps the last window only, and leaves out a snapshot not newer than the last', () => {
    const history = historyOf(snapshot(0, 1), snapshot(300, 2), snapshot(601, 3), snapshot(601, 4));
    expect(history.map(users)).toEqual([2, 3]);
  });
});

describe('series and rates', () => {
  const history = historyOf(
    snapshot(0, 100),
    snapshot(2, 140),
    snapshot(4, null),
    snapshot(6, 150),
    snapshot(8, 20),
  );

  it('gives uPlot its x values in seconds and one row per pick, with gaps as null', () => {
    expect(seriesOf(history, [users])).toEqual([
      [0, 2, 4, 6, 8].map((s) => T0 / 1000 + s),
      [100, 140, null, 150, 20],
    ]);
  });

  it('rates per second between successive samples, none across a gap or a reset', () => {
    expect(rateSeriesOf(history, [users])[1]).toEqual([null, 20, null, null, null]);
  });

  it('a recent rate from the oldest sample inside the window', () => {
    const steady = historyOf(snapshot(0, 0), snapshot(10, 50), snapshot(20, 100), snapshot(40, 300));
    expect(recentRate(steady, users, 30_000)).toBe(250 / 30);
    expect(recentRate(steady.slice(0, 1), users)).toBeNull();
    expect(recentRate(history, users)).toBeNull();
  });
});
