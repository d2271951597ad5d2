/**
 * CPU time and resident memory of named process trees (the stack's services, the benchmark itself),
 * read from /proc once per interval while a benchmark runs: what each process costs in each phase,
 * measured in the same run as the figures. Linux only.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { StackService } from '#infra/stack/service.ts';

/** What one series of samples counts: a name, and its processes now. */
export interface SampleTarget {
  readonly name: string;
  /** Asked again at every sample: a service may restart or fork more processes while it runs. */
  readonly pids: () => Promise<readonly number[]> | readonly number[];
}

export interface Sample {
  /** Seconds since the sampler started. */
  readonly t: number;
  /**
   * CPU time (user + system) each target's processes used since the sampler started, in ms. It
   * only grows: a process that exits keeps what it had used at the last sample that saw it. What
   * it used after that sample, and all of a process born and gone between two samples, is lost.
   */
  readonly cpuMs: Readonly<Record<string, number>>;
  /** Resident memory of each target's processes at that moment (the sum of their VmRSS), in MB. */
  readonly rssMb: Readonly<Record<string, number>>;
}

/** A moment the benchmark named (a phase starting), to measure between. */
export interface Mark {
  readonly t: number;
  readonly label: string;
}

export interface SamplerResult {
  /** When the sampler started, in ms since the epoch. */
  readonly startedAt: number;
  readonly samples: readonly Sample[];
  readonly marks: readonly Mark[];
}

export interface Sampler {
  /** Records the moment, as seconds since the start, under `label`. */
  mark(label: string): void;
  /** Takes a last sample and returns them all; rejects if a sample failed (a target's `pids` threw). */
  stop(): Promise<SamplerResult>;
}

let clockTicks: number | undefined;

/** Clock ticks per second, the unit of /proc's CPU times: `getconf CLK_TCK`, asked once (100 if it fails). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    let answer = Number.NaN;
    try {
      answer = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    } catch {
      // No getconf: Linux has used 100 on every common architecture for decades.
    }
    clockTicks = Number.isInteger(answer) && answer > 0 ? answer : 100;
  }
  return clockTicks;
}

interface Stat {
  readonly ppid: number;
  /** utime + stime of all its threads, in clock ticks. */
  readonly cpuTicks: number;
  /** When the process started, in clock ticks since boot: with the pid, it names the process. */
  readonly startTicks: number;
}

/** The fields of a /proc/<pid>/stat line that the sampler uses. */
function parseStat(text: string): Stat {
  // The command name (field 2) is in parentheses and may hold spaces or ')': count after the last ')'.
  // fields[0] is field 3 (the state): ppid is field 4, utime 14, stime 15, starttime 22.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return {
    ppid: Number(fields[1]),
    cpuTicks: Number(fields[11]) + Number(fields[12]),
    startTicks: Number(fields[19]),
  };
}

/**
 * A process and all its descendants, found through the ppid of every process in /proc: a service
 * that forks (Airflow's scheduler and workers, Spark's executors, PostgreSQL's backends) counts as
 * a whole. The root comes first; empty if the root is gone.
 */
export function processTree(rootPid: number): number[] {
  const { children, alive } = processTable();
  if (!alive.has(rootPid)) return [];
  const tree = [rootPid];
  // An array's iterator reads its length at every step: it visits the children pushed as it goes.
  for (const pid of tree) tree.push(...(children.get(pid) ?? []));
  return tree;
}

/** How long one reading of /proc serves: every target of a sample walks the same table (a sample starts a new one). */
const TABLE_TTL_MS = 200;
let table: { readAt: number; children: Map<number, number[]>; alive: Set<number> } | undefined;

/** Every process's children, from one pass over /proc, reused for TABLE_TTL_MS. */
function processTable(): { children: Map<number, number[]>; alive: Set<number> } {
  const now = performance.now();
  if (table !== undefined && now - table.readAt < TABLE_TTL_MS) return table;
  const children = new Map<number, number[]>();
  const alive = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let ppid: number;
    try {
      ppid = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).ppid;
    } catch {
      continue; // Gone between the listing and the read.
    }
    alive.add(pid);
    const siblings = children.get(ppid);
    if (siblings === undefined) children.set(ppid, [pid]);
    else siblings.push(pid);
  }
  table = { readAt: now, children, alive };
  return table;
}

/**
 * A stack service as a target: the process tree under its pid file's process, looked up at every
 * sample, so that a restart is followed and a stopped service counts as nothing.
 */
export const serviceTarget = (service: Pick<StackService, 'name' | 'pid'>): SampleTarget => ({
  name: service.name,
  pids: async () => {
    const pid = await service.pid();
    return pid === undefined ? [] : processTree(pid);
  },
});

/** A process's peak resident memory (VmHWM) in MB: exact, where sampled RSS misses short peaks. */
export function peakRssOfPid(pid: number): number {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (error) {
    throw new Error(`process ${pid} is gone: its peak memory can no longer be read`, { cause: error });
  }
  return Math.round(Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024);
}

/** One process as read now, or undefined if it ended between the listing and the read. */
async function readProcess(pid: number): Promise<(Stat & { pid: number; rssKb: number }) | undefined> {
  try {
    const [stat, status] = await Promise.all([
      readFile(`/proc/${pid}/stat`, 'utf8'),
      readFile(`/proc/${pid}/status`, 'utf8'),
    ]);
    // A zombie has no VmRSS line: it holds no memory any more.
    return { ...parseStat(stat), pid, rssKb: Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) };
  } catch {
    return undefined;
  }
}

/** Clock ticks since boot now (/proc/uptime), to tell processes that started before the sampler. */
async function uptimeTicks(): Promise<number> {
  const seconds = Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]);
  return seconds * ticksPerSecond();
}

/** The CPU ticks of one process that count: those used since the sampler started, or since it did. */
interface Counted {
  readonly baselineTicks: number;
  usedTicks: number;
}

/**
 * Samples the targets now and then every `intervalMs` (1000 by default) until `stop`, which takes
 * the last. Samples are taken at fixed times from the start, not a fixed pause after the previous
 * one, so that they do not drift; one sample never overlaps the next. The timer does not keep the
 * process alive.
 */
export function startSampler(
  targets: readonly SampleTarget[],
  { intervalMs = 1000 }: { intervalMs?: number } = {},
): Sampler {
  const startedAt = Date.now();
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started) / 1000;
  const samples: Sample[] = [];
  const marks: Mark[] = [];
  // Every process each target ever had, by pid and start time (a pid may be reused).
  const counted = new Map(targets.map((target) => [target.name, new Map<string, Counted>()]));
  const startTicks = uptimeTicks();
  const toMs = (ticks: number): number => Math.round((ticks * 1000) / ticksPerSecond());

  const sampleTarget = async (
    target: SampleTarget,
    t0Ticks: number,
  ): Promise<{ cpuMs: number; rssMb: number }> => {
    const seen = counted.get(target.name) ?? new Map<string, Counted>();
    let rssKb = 0;
    const processes = await Promise.all([...new Set(await target.pids())].map(readProcess));
    for (const now of processes) {
      if (now === undefined) continue;
      rssKb += now.rssKb;
      const key = `${now.pid}:${now.startTicks}`;
      let entry = seen.get(key);
      if (entry === undefined) {
        // A process that was running before the sampler started counts from its first sample only.
        entry = { baselineTicks: now.startTicks < t0Ticks ? now.cpuTicks : 0, usedTicks: 0 };
        seen.set(key, entry);
      }
      entry.usedTicks = now.cpuTicks - entry.baselineTicks;
    }
    let usedTicks = 0;
    for (const entry of seen.values()) usedTicks += entry.usedTicks;
    return { cpuMs: toMs(usedTicks), rssMb: Math.round((rssKb / 1024) * 10) / 10 };
  };

  const take = async (): Promise<void> => {
    // A fresh reading of /proc for this sample, shared by its targets.
    table = undefined;
    const t = elapsed();
    const t0Ticks = await startTicks;
    const read = await Promise.all(
      targets.map(async (target) => ({ name: target.name, ...(await sampleTarget(target, t0Ticks)) })),
    );
    samples.push({
      t,
      cpuMs: Object.fromEntries(read.map((r) => [r.name, r.cpuMs])),
      rssMb: Object.fromEntries(read.map((r) => [r.name, r.rssMb])),
    });
  };

  let stopped = false;
  let failure: { error: unknown } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let nextAt = started;
  let pending = Promise.resolve();
  const run = (): void => {
    pending = take().then(
      () => {
        if (stopped) return;
        // A sample that took longer than the interval skips the slots it missed.
        do nextAt += intervalMs;
        while (nextAt <= performance.now());
        timer = setTimeout(run, Math.max(0, nextAt - performance.now()));
        timer.unref();
      },
      (error: unknown) => {
        failure = { error };
      },
    );
  };
  run();

  return {
    mark: (label) => {
      marks.push({ t: elapsed(), label });
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await pending;
      if (failure !== undefined) throw failure.error;
      // The last sample is the end's. One taken less than half an interval before is dropped for it:
      // a rate over a few ms would be noise (CPU time comes in 10 ms ticks).
      const last = samples.at(-1);
      if (samples.length > 1 && last !== undefined && elapsed() - last.t < intervalMs / 2000) samples.pop();
      await take();
      return { startedAt, samples, marks };
    },
  };
}

/** A target's cumulative CPU time at `t`, interpolated between the samples around it. */
function cpuMsAt(samples: readonly Sample[], name: string, t: number): number {
  const value = (sample: Sample | undefined): number => sample?.cpuMs[name] ?? 0;
  const after = samples.findIndex((sample) => sample.t >= t);
  if (after === -1) return value(samples.at(-1));
  const next = samples[after];
  const previous = samples[after - 1];
  // previous.t < t <= next.t: the first sample at or after t, and the one before it.
  if (previous === undefined || next === undefined) return value(next);
  return value(previous) + ((value(next) - value(previous)) * (t - previous.t)) / (next.t - previous.t);
}

/**
 * CPU time, in ms, a target used between two moments (seconds since the start, such as two marks),
 * interpolated between samples: as exact as the interval, and short of what processes that exited
 * used after their last sample.
 */
export const cpuMsBetween = (result: SamplerResult, name: string, fromT: number, toT: number): number =>
  Math.round(cpuMsAt(result.samples, name, toT) - cpuMsAt(result.samples, name, fromT));

/** The highest sampled RSS of a target, in MB: a peak between two samples is missed (see peakRssOfPid). */
export const peakRssMb = (result: SamplerResult, name: string): number =>
  result.samples.reduce((peak, sample) => Math.max(peak, sample.rssMb[name] ?? 0), 0);
