/** Figures as the console shows them: pure, so the unit tests pin them down. */

const DASH = '—';

export function formatCount(value: number | null): string {
  return value === null ? DASH : value.toLocaleString('en-US');
}

/** A rate per second: one decimal below 10, whole numbers above. */
export function formatRate(perSecond: number | null): string {
  if (perSecond === null) return DASH;
  const rounded =
    Math.abs(perSecond) < 10 ? perSecond.toFixed(1) : Math.round(perSecond).toLocaleString('en-US');
  return `${rounded}/s`;
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return DASH;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** How long ago, coarse: the header's "updated 3 s ago". */
export function formatAgo(ms: number): string {
  if (ms < 1000) return 'just now';
  if (ms < 60_000) return `${Math.floor(ms / 1000)} s ago`;
  return `${formatDuration(ms)} ago`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** A timestamp as a clock time (and the date when it is not today's), in `timeZone` or the browser's. */
export function formatTime(iso: string | null, now = new Date(), timeZone?: string): string {
  if (iso === null) return DASH;
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const zone = timeZone === undefined ? {} : { timeZone };
  const day = (date: Date) => date.toLocaleDateString('en-CA', zone);
  const clock = at.toLocaleTimeString('en-GB', { ...zone, hour12: false });
  return day(at) === day(now) ? clock : `${day(at)} ${clock}`;
}

/** The time between two timestamps; null while either is missing (a run still going). */
export function durationBetween(start: string | null, end: string | null): number | null {
  if (start === null || end === null) return null;
  return Date.parse(end) - Date.parse(start);
}
