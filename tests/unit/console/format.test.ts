import { describe, expect, it } from 'vitest';
import {
  bucketLabels,
  durationBetween,
  formatAgo,
  formatBytes,
  formatCount,
  formatDuration,
  formatRate,
  formatTime,
} from '#functions/console/page/format.ts';

describe('the page’s formatting', () => {
  it('counts and rates', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(null)).toBe('—');
    expect(formatRate(3.14159)).toBe('3.1/s');
    expect(formatRate(1234.5)).toBe('1,235/s');
    expect(formatRate(null)).toBe('—');
  });

  it('durations, from milliseconds to hours', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(3240)).toBe('3.2 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
    expect(formatDuration(300_000)).toBe('5 min');
    expect(formatDuration(2 * 3600_000 + 3 * 60_000)).toBe('2 h 3 min');
    expect(formatDuration(null)).toBe('—');
    expect(durationBetween('2026-12-01T10:00:00Z', '2026-12-01T10:00:50Z')).toBe(50_000);
    expect(durationBetween('2026-12-01T10:00:00Z', null)).toBeNull();
  });

  it('ages and sizes', () => {
    expect(formatAgo(400)).toBe('just now');
    expect(formatAgo(3500)).toBe('3 s ago');
    expect(formatAgo(90_000)).toBe('1 min 30 s ago');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(812_345)).toBe('793.3 KiB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MiB');
  });

  it('times: the clock for today, with the date otherwise', () => {
    const now = new Date('2026-12-01T12:00:00Z');
    expect(formatTime('2026-12-01T09:05:07Z', now, 'UTC')).toBe('09:05:07');
    expect(formatTime('2026-11-30T23:59:00Z', now, 'UTC')).toBe('2026-11-30 23:59:00');
    expect(formatTime(null, now, 'UTC')).toBe('—');
  });

  it('histogram buckets by upper bound, the last one being the rest', () => {
    expect(bucketLabels([100, 250, 1000, 5000, Number.MAX_SAFE_INTEGER])).toEqual([
      '0.1s',
      '0.25s',
      '1s',
      '5s',
      '>5s',
    ]);
  });
});
