import { describe, expect, it } from 'vitest';
import type { Injected } from '#scripts/chaos/faults.ts';
import { faultTable, renderTable } from '#scripts/chaos/report.ts';
import { drawSchedule, FAULTS } from '#scripts/chaos/schedule.ts';

describe('the chaos schedule', () => {
  const pause = { min: 1000, max: 5000 };

  it('kills each fault `rounds` times, never the same one twice in a row', () => {
    for (const seed of ['a', 'b', 'c', 'd', 'e', 'f']) {
      const { kills } = drawSchedule(seed, 3, pause);
      expect(kills).toHaveLength(FAULTS.length * 3);
      for (const fault of FAULTS) expect(kills.filter((k) => k.fault === fault)).toHaveLength(3);
      const repeats = kills.filter((kill, i) => i > 0 && kill.fault === kills[i - 1]?.fault);
      expect(repeats, seed).toEqual([]);
      for (const kill of kills) {
        expect(kill.afterMs).toBeGreaterThanOrEqual(pause.min);
        expect(kill.afterMs).toBeLessThanOrEqual(pause.max);
      }
    }
  });

  it('repeats itself for the same seed, and differs for another', () => {
    expect(drawSchedule('s1', 3, pause)).toEqual(drawSchedule('s1', 3, pause));
    expect(drawSchedule('s1', 3, pause).kills).not.toEqual(drawSchedule('s2', 3, pause).kills);
  });

  it('plants the poison between two kills', () => {
    const { poisonAfterKills, kills } = drawSchedule('p', 1, pause);
    expect(poisonAfterKills).toBeGreaterThanOrEqual(0);
    expect(poisonAfterKills).toBeLessThan(kills.length);
  });
});

describe('the chaos table', () => {
  const kill = (fault: Injected['fault'], killedAtMs: number, backAtMs: number): Injected => ({
    fault,
    killedAtMs,
    backAtMs,
    pid: 1,
  });
  const kills = [
    kill('kafka', 1000, 11_000),
    kill('postgres', 20_000, 24_000),
    kill('kafka', 30_000, 50_000),
  ];

  it('charges each finding to the last kill before it, and gives recovery p50 and max', () => {
    const rows = faultTable(['kafka', 'postgres'], kills, {
      lost: [{ atMs: 21_000 }, { atMs: 35_000 }],
      differing: [],
      resent: [{ atMs: 500 }],
      aggregatesOff: [{ atMs: 25_000, users: 3 }],
    });
    expect(rows).toEqual([
      {
        fault: 'before any fault',
        injected: 0,
        recoveryS: null,
        lost: 0,
        differing: 0,
        duplicated: 1,
        aggregatesOff: 0,
      },
      {
        fault: 'kafka',
        injected: 2,
        recoveryS: { p50: 15, max: 20 },
        lost: 1,
        differing: 0,
        duplicated: 0,
        aggregatesOff: 0,
      },
      {
        fault: 'postgres',
        injected: 1,
        recoveryS: { p50: 4, max: 4 },
        lost: 1,
        differing: 0,
        duplicated: 0,
        aggregatesOff: 3,
      },
    ]);
    const text = renderTable(rows);
    expect(text.split('\n')[0]).toMatch(/^fault\s+injected\s+recovery p50\s+recovery max\s+lost/);
    expect(text).toContain('15.0 s');
  });

  it('leaves out "before any fault" when nothing happened before the first kill', () => {
    const rows = faultTable(['kafka'], kills, { lost: [], differing: [], resent: [], aggregatesOff: [] });
    expect(rows.map((r) => r.fault)).toEqual(['kafka']);
  });
});
