import type { RawZone, Snapshot } from '../api.ts';

/**
 * The snapshots the page has polled, kept client-side for the charts: the API answers the present
 * only, and rates are differences between successive snapshots. Pure, so the unit tests drive it.
 */

export const HISTORY_WINDOW_MS = 10 * 60_000;

export interface Sample {
  /** The snapshot's `takenAt`, in ms: the server's clock, so intervals are not skewed by the browser's. */
  readonly at: number;
  readonly snapshot: Snapshot;
  /**
   * Users landed in S3 since the page's first snapshot, from the objects new in `raw.latest` (their
   * metadata's user count); null until the raw zone has been read once.
   */
  readonly landedUsers: number | null;
}

/** x values (seconds, as uPlot's time scale wants them) and one row of y values per series. */
export type SeriesData = [number[], ...(number | null)[][]];

/** Users in the objects of `next` that are newer than every object of `previous`. */
export function usersLanded(previous: RawZone, next: RawZone): number {
  const seen = new Set(previous.latest.map((object) => object.key));
  const newest = Math.max(...previous.latest.map((object) => Date.parse(object.at)));
  return next.latest
    .filter((object) => !seen.has(object.key) && Date.parse(object.at) >= newest)
    .reduce((sum, object) => sum + (object.users ?? 0), 0);
}

/** The newest raw zone read in `history`, and the landed total at that sample. */
function lastRaw(history: readonly Sample[]): { raw: RawZone; landed: number } | null {
  for (let i = history.length - 1; i >= 0; i--) {
    const sample = history[i];
    if (sample?.snapshot.raw.ok === true && sample.landedUsers !== null) {
      return { raw: sample.snapshot.raw.data, landed: sample.landedUsers };
    }
  }
  return null;
}

/**
 * `history` with `snapshot` appended and the samples older than `windowMs` before it dropped. A
 * snapshot not newer than the last one (an answer that overtook another) is left out.
 */
export function addSample(
  history: readonly Sample[],
  snapshot: Snapshot,
  windowMs = HISTORY_WINDOW_MS,
): Sample[] {
  const at = Date.parse(snapshot.takenAt);
  const last = history.at(-1);
  if (last !== undefined && at <= last.at) return [...history];
  let landedUsers: number | null = null;
  if (snapshot.raw.ok) {
    const before = lastRaw(history);
    landedUsers = before === null ? 0 : before.landed + usersLanded(before.raw, snapshot.raw.data);
  } else {
    landedUsers = lastRaw(history)?.landed ?? null;
  }
  return [...history.filter((sample) => sample.at > at - windowMs), { at, snapshot, landedUsers }];
}

/** A figure of a sample; null when the part it comes from could not be read then. */
export type Pick = (sample: Sample) => number | null;

/** The values of each pick over the history, for a chart. */
export function seriesOf(history: readonly Sample[], picks: readonly Pick[]): SeriesData {
  return [history.map((sample) => sample.at / 1000), ...picks.map((pick) => history.map(pick))];
}

/** Per-second rates between successive samples; null where a value is missing or went down (a reset). */
export function rateSeriesOf(history: readonly Sample[], picks: readonly Pick[]): SeriesData {
  return [
    history.map((sample) => sample.at / 1000),
    ...picks.map((pick) =>
      history.map((sample, i) => {
        const previous = history[i - 1];
        return previous === undefined ? null : rateBetween(previous, sample, pick);
      }),
    ),
  ];
}

function rateBetween(from: Sample, to: Sample, pick: Pick): number | null {
  const a = pick(from);
  const b = pick(to);
  if (a === null || b === null || b < a || to.at <= from.at) return null;
  return ((b - a) * 1000) / (to.at - from.at);
}

/**
 * The rate over the last `overMs` (from the oldest sample inside it that has a value), steadier than
 * the last interval's; null with fewer than two such samples.
 */
export function recentRate(history: readonly Sample[], pick: Pick, overMs = 30_000): number | null {
  const last = history.at(-1);
  if (last === undefined || pick(last) === null) return null;
  const first = history.find((sample) => sample.at >= last.at - overMs && pick(sample) !== null);
  return first === undefined || first === last ? null : rateBetween(first, last, pick);
}
