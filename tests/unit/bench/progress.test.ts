import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  LOG_EVERY_MS,
  progressLine,
  startProgress,
  type ProgressStream,
  type StageProgress,
} from '#scripts/bench/progress.ts';

const NOW = Date.UTC(2025, 0, 1, 12);

describe('progressLine', () => {
  it('gives each stage done of total, its rate and the time left', () => {
    const stages: StageProgress[] = [
      { name: 'fetch', done: 45_600, total: 1_000_000, startedAtMs: NOW - 5000 },
      { name: 'persist', done: 12_000, total: 1_000_000, startedAtMs: NOW - 3000 },
    ];
    expect(progressLine(stages, NOW)).toBe(
      'fetch 45,600/1,000,000 9,120/s 1m45s left · persist 12,000/1,000,000 4,000/s 4m07s left',
    );
  });

  it('says done for a complete stage, and hours and minutes for a long wait', () => {
    const stages: StageProgress[] = [
      { name: 'fetch', done: 1_000_000, total: 1_000_000, startedAtMs: NOW - 100_000 },
      { name: 'sink', done: 100, total: 1_000_000, startedAtMs: NOW - 1000 },
    ];
    expect(progressLine(stages, NOW)).toBe(
      'fetch 1,000,000/1,000,000 done · sink 100/1,000,000 100/s 2h46m left',
    );
  });

  it('never shows NaN or Infinity: nothing done, no time elapsed, a clock behind, no total', () => {
    const stages: StageProgress[] = [
      { name: 'idle', done: 0, total: 1000, startedAtMs: NOW - 5000 },
      { name: 'instant', done: 500, total: 1000, startedAtMs: NOW },
      { name: 'future', done: 10, total: 1000, startedAtMs: NOW + 1000 },
      { name: 'open', done: 3, total: 0, startedAtMs: NOW - 2000 },
      { name: 'empty', done: 0, total: 0, startedAtMs: NOW },
    ];
    const line = progressLine(stages, NOW);
    expect(line).toBe('idle 0/1,000 · instant 500/1,000 · future 10/1,000 · open 3 1.5/s · empty 0');
    expect(line).not.toMatch(/NaN|Infinity/);
  });
});

/** A stream that records what it is given. */
function recorder(isTTY: boolean): ProgressStream & { readonly writes: string[] } {
  const writes: string[] = [];
  return {
    isTTY,
    columns: 40,
    writes,
    write: (text: string) => writes.push(text),
  };
}

describe('startProgress', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: NOW });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const stagesAt = (): StageProgress[] => [
    { name: 'fetch', done: Math.round((Date.now() - NOW) / 10), total: 10_000, startedAtMs: NOW },
  ];

  it('prints a full line at most every 10 s when the output is not a terminal, and the last on stop', async () => {
    const stream = recorder(false);
    const progress = startProgress(stagesAt, { intervalMs: 1000, stream });
    await vi.advanceTimersByTimeAsync(25_000);
    expect(stream.writes).toEqual([
      'fetch 0/10,000\n',
      'fetch 1,000/10,000 100/s 1m30s left\n',
      'fetch 2,000/10,000 100/s 1m20s left\n',
    ]);
    expect(LOG_EVERY_MS).toBe(10_000);
    await vi.advanceTimersByTimeAsync(2000);
    await progress.stop();
    expect(stream.writes.at(-1)).toBe('fetch 2,700/10,000 100/s 1m13s left\n');
    expect(stream.writes).toHaveLength(4);
    // Nothing after stop.
    await vi.advanceTimersByTimeAsync(30_000);
    expect(stream.writes).toHaveLength(4);
  });

  it('rewrites one line on a terminal, and ends it on stop', async () => {
    const stream = recorder(true);
    const progress = startProgress(stagesAt, { intervalMs: 1000, stream });
    await vi.advanceTimersByTimeAsync(3000);
    expect(stream.writes).toEqual([
      '\r\x1b[2Kfetch 0/10,000',
      '\r\x1b[2Kfetch 100/10,000 100/s 1m39s left',
      '\r\x1b[2Kfetch 200/10,000 100/s 1m38s left',
      '\r\x1b[2Kfetch 300/10,000 100/s 1m37s left',
    ]);
    vi.setSystemTime(NOW + 100_000);
    await progress.stop();
    expect(stream.writes.at(-1)).toBe('\r\x1b[2Kfetch 10,000/10,000 done\n');
  });

  it('keeps a terminal line within the width, so that it never wraps', async () => {
    const stream = recorder(true);
    const progress = startProgress(
      () => [{ name: 'a stage with a very long name indeed', done: 5, total: 10, startedAtMs: NOW - 1000 }],
      { stream },
    );
    await progress.stop();
    expect(stream.writes[0]).toBe('\r\x1b[2Ka stage with a very long name indeed 5/');
  });

  it('rejects on stop when the stages could not be read', async () => {
    const progress = startProgress(() => Promise.reject(new Error('no counts')), { stream: recorder(false) });
    await expect(progress.stop()).rejects.toThrow('no counts');
  });
});
