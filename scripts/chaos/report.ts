/**
 * The chaos run's table: per fault, how often it was injected, how long the process took to come
 * back (p50 and max), and what the end checks found in its window. A finding belongs to the fault
 * whose kill came last before it (a lost user's commit, a re-sent record's timestamp, a minute of
 * aggregates); one from before the first kill is "before any fault".
 */
import type { Timed } from './checks.ts';
import type { Injected } from './faults.ts';
import type { Fault } from './schedule.ts';

export interface Findings {
  readonly lost: readonly Timed[];
  readonly differing: readonly Timed[];
  readonly resent: readonly Timed[];
  /** Users by which each minute's aggregates are off (|Spark − PostgreSQL| summed over its cells). */
  readonly aggregatesOff: readonly (Timed & { readonly users: number })[];
}

export interface FaultRow {
  readonly fault: Fault | 'before any fault';
  readonly injected: number;
  readonly recoveryS: { readonly p50: number; readonly max: number } | null;
  readonly lost: number;
  readonly differing: number;
  readonly duplicated: number;
  readonly aggregatesOff: number;
}

const median = (sorted: readonly number[]): number => {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const oneDecimal = (n: number): number => Math.round(n * 10) / 10;

/** The rows of the table: one per fault in `faults` order, and "before any fault" when it found something. */
export function faultTable(
  faults: readonly Fault[],
  kills: readonly Injected[],
  findings: Findings,
): FaultRow[] {
  const ordered = [...kills].sort((a, b) => a.killedAtMs - b.killedAtMs);
  const owner = (atMs: number): Fault | 'before any fault' =>
    ordered.filter((k) => k.killedAtMs <= atMs).at(-1)?.fault ?? 'before any fault';
  const count = (items: readonly (Timed & { readonly users?: number })[], fault: FaultRow['fault']): number =>
    items.filter((item) => owner(item.atMs) === fault).reduce((sum, item) => sum + (item.users ?? 1), 0);
  const rowOf = (fault: FaultRow['fault']): FaultRow => {
    const recoveries = kills
      .filter((k) => k.fault === fault)
      .map((k) => (k.backAtMs - k.killedAtMs) / 1000)
      .sort((a, b) => a - b);
    return {
      fault,
      injected: recoveries.length,
      recoveryS:
        recoveries.length === 0
          ? null
          : { p50: oneDecimal(median(recoveries)), max: oneDecimal(recoveries.at(-1) ?? 0) },
      lost: count(findings.lost, fault),
      differing: count(findings.differing, fault),
      duplicated: count(findings.resent, fault),
      aggregatesOff: count(findings.aggregatesOff, fault),
    };
  };
  const before = rowOf('before any fault');
  const rows = faults.map(rowOf);
  const found = before.lost + before.differing + before.duplicated + before.aggregatesOff;
  return found > 0 ? [before, ...rows] : rows;
}

/** The table as text, in columns. */
export function renderTable(rows: readonly FaultRow[]): string {
  const header = [
    'fault',
    'injected',
    'recovery p50',
    'recovery max',
    'lost',
    'wrong content',
    'duplicated',
    'aggregates off',
  ];
  const lines = rows.map((r) => [
    r.fault,
    String(r.injected),
    r.recoveryS === null ? '—' : `${r.recoveryS.p50.toFixed(1)} s`,
    r.recoveryS === null ? '—' : `${r.recoveryS.max.toFixed(1)} s`,
    String(r.lost),
    String(r.differing),
    String(r.duplicated),
    String(r.aggregatesOff),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const format = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [format(header), format(widths.map((w) => '-'.repeat(w))), ...lines.map(format)].join('\n');
}
