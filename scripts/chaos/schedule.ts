/**
 * The chaos run's schedule, drawn from its seed: which process is killed when, and when the poison
 * is planted. The same seed gives the same schedule (the order of the kills and the pauses between
 * them); the moments on the clock also depend on how fast the machine recovers.
 */
import { Random } from '#infra/randomuser/generator.ts';

/** The processes the suite kills with SIGKILL: the functions' host and every service data passes through. */
export const FAULTS = [
  'sls-offline',
  'kafka',
  'cassandra',
  'postgres',
  'registry',
  'aws',
  'spark-job',
] as const;
export type Fault = (typeof FAULTS)[number];

export interface Kill {
  readonly fault: Fault;
  /** The pause after the previous kill's recovery (or the flow's start) before this kill. */
  readonly afterMs: number;
}

export interface Schedule {
  readonly seed: string;
  readonly kills: readonly Kill[];
  /** The poison is planted right after this many kills (0: before the first). */
  readonly poisonAfterKills: number;
}

/**
 * `rounds` kills of each fault in a seeded order, never the same process twice in a row (a second
 * kill while it is still catching up would test less), each after a seeded pause of `pauseMs`.
 */
export function drawSchedule(
  seed: string,
  rounds: number,
  pauseMs: { readonly min: number; readonly max: number },
  faults: readonly Fault[] = FAULTS,
): Schedule {
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`rounds must be a whole number ≥ 1, not ${rounds}`);
  const random = new Random(`chaos:${seed}`, 1);
  const bag = faults.flatMap((fault) => Array.from({ length: rounds }, () => fault));
  const order: Fault[] = [];
  while (bag.length > 0) {
    const allowed = bag.map((fault, index) => ({ fault, index })).filter((c) => c.fault !== order.at(-1));
    // Only the last kind is left, and it was just killed: put it where it does not repeat.
    const pick = allowed.length > 0 ? random.pick(allowed) : undefined;
    const fault = bag.at(-1);
    if (pick === undefined && fault !== undefined) {
      bag.pop();
      const at = order.findIndex((f, i) => f !== fault && order[i - 1] !== fault);
      order.splice(at === -1 ? 0 : at, 0, fault);
      continue;
    }
    if (pick === undefined) break;
    order.push(pick.fault);
    bag.splice(pick.index, 1);
  }
  return {
    seed,
    kills: order.map((fault) => ({ fault, afterMs: random.int(pauseMs.min, pauseMs.max) })),
    poisonAfterKills: random.int(0, Math.max(0, order.length - 1)),
  };
}
