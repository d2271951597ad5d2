/**
 * Live progress of long work, such as a million users through the pipeline's stages: for each stage
 * how far it is, how fast it goes and how long it still needs, so that a run of many minutes shows
 * that it moves, and a stuck stage shows which.
 */

export interface StageProgress {
  readonly name: string;
  readonly done: number;
  /** What the stage has to do; 0 or less when that is not known (then no time left is given). */
  readonly total: number;
  /** When the stage started, in ms since the epoch. */
  readonly startedAtMs: number;
}

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** A rate of work: whole numbers from 10 up, one decimal below (a slow stage is not shown as 0/s). */
const perSecond = (rate: number): string =>
  rate >= 10 ? `${count(rate)}/s` : `${rate.toLocaleString('en-US', { maximumFractionDigits: 1 })}/s`;

/** A duration as `45s`, `1m45s` or `2h05m`: seconds are noise once hours are left. */
function duration(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** One stage as `fetch 45,000/1,000,000 9,120/s 1m45s left`, or `… done` once complete. */
function stageLine({ name, done, total, startedAtMs }: StageProgress, nowMs: number): string {
  const known = total > 0;
  const amount = known ? `${count(done)}/${count(total)}` : count(done);
  if (known && done >= total) return `${name} ${amount} done`;
  const elapsedS = (nowMs - startedAtMs) / 1000;
  // No rate before any time has passed or any work is done: it would be 0/s, Infinity or NaN.
  if (elapsedS <= 0 || done <= 0) return `${name} ${amount}`;
  const rate = done / elapsedS;
  const left = known ? ` ${duration((total - done) / rate)} left` : '';
  return `${name} ${amount} ${perSecond(rate)}${left}`;
}

/**
 * The progress of every stage on one line, e.g. `fetch 45,000/1,000,000 9,120/s 1m45s left ·
 * persist 12,000/1,000,000 4,000/s 4m07s left`. A stage's rate is over its whole elapsed time: a
 * steady figure, where a rate over the last second jumps with every batch.
 */
export const progressLine = (stages: readonly StageProgress[], nowMs: number): string =>
  stages.map((stage) => stageLine(stage, nowMs)).join(' · ');

/** Where progress goes: a terminal (rewritten in place) or a log (full lines). */
export interface ProgressStream {
  readonly isTTY?: boolean | undefined;
  /** The terminal's width: a longer line would wrap, and `\r` could not rewrite it. */
  readonly columns?: number | undefined;
  write(text: string): unknown;
}

export interface ProgressOptions {
  /** How often the stages are read (on a terminal, how often the line is redrawn): 1000 ms by default. */
  readonly intervalMs?: number;
  /** process.stdout by default. */
  readonly stream?: ProgressStream;
}

export interface ProgressDisplay {
  /** Prints the final line (and ends it); rejects if reading the stages failed. */
  stop(): Promise<void>;
}

/** How often a line is printed when the output is not a terminal: a CI log should not fill with them. */
export const LOG_EVERY_MS = 10_000;

/** Erases the terminal's current line and returns to its start. */
const REWRITE = '\r\x1b[2K';

/**
 * Shows the stages' progress until `stop`: on a terminal, one line rewritten every interval; to a
 * pipe or a CI log, a full line at most every 10 s. The timer does not keep the process alive.
 */
export function startProgress(
  read: () => Promise<readonly StageProgress[]> | readonly StageProgress[],
  { intervalMs = 1000, stream = process.stdout }: ProgressOptions = {},
): ProgressDisplay {
  const tty = stream.isTTY === true;
  const line = async (): Promise<string> => progressLine(await read(), Date.now());
  let lastPrintedMs = Number.NEGATIVE_INFINITY;
  const show = async (): Promise<void> => {
    const now = Date.now();
    if (!tty && now - lastPrintedMs < LOG_EVERY_MS) return;
    lastPrintedMs = now;
    const text = await line();
    const width = stream.columns ?? 0;
    stream.write(tty ? `${REWRITE}${width > 1 ? text.slice(0, width - 1) : text}` : `${text}\n`);
  };

  let stopped = false;
  let failure: { error: unknown } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let pending = Promise.resolve();
  const run = (): void => {
    pending = show().then(
      () => {
        if (stopped) return;
        timer = setTimeout(run, intervalMs);
        timer.unref();
      },
      (error: unknown) => {
        failure = { error };
      },
    );
  };
  run();

  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await pending;
      if (failure !== undefined) throw failure.error;
      const text = await line();
      stream.write(tty ? `${REWRITE}${text}\n` : `${text}\n`);
    },
  };
}
