/** Helpers shared by the benchmarks: figures go to stdout and to a JSON file under .local/bench. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stackHome } from '#infra/stack/lib/paths.ts';
import { say } from './cli.ts';

/** The median: the figure quoted from several runs on a noisy machine. */
export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/** Writes a benchmark's results to .local/bench/<name>.json and says where. */
export function writeResults(name: string, results: unknown): void {
  const dir = path.join(stackHome, 'bench');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  say(`written to ${file}`);
}
