/**
 * Stack benchmark (`npm run bench:stack`): times `stack up` from all-stopped to all-healthy on a
 * provisioned machine, a few times, and measures each service's memory once healthy and idle.
 * Prints the figures and writes them to .local/bench/stack.json. Leaves the stack as it found it.
 */
import { sleep } from '#infra/stack/lib/process.ts';
import { allRunning, down, status, up } from '#infra/stack/stack.ts';
import { median, writeResults } from './bench-lib.ts';
import { runMain, say } from './cli.ts';

const runs = Number(process.argv[2] ?? '3');
const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);

async function main(): Promise<void> {
  const wasUp = await allRunning();
  await up(); // provision first: the timed runs measure start-up, not downloads
  const upSeconds: number[] = [];
  for (let i = 1; i <= runs; i++) {
    await down();
    const started = Date.now();
    await up();
    upSeconds.push((Date.now() - started) / 1000);
    say(`run ${i}/${runs}: stack up to all-healthy in ${upSeconds.at(-1)?.toFixed(1)} s`);
  }
  await sleep(10_000); // let the JVMs settle after start-up before reading memory
  const rows = await status();
  const memory = Object.fromEntries(rows.map((r) => [r.name, mb(r.memoryBytes)]));
  const totalMb = rows.reduce((sum, r) => sum + mb(r.memoryBytes), 0);
  const result = {
    when: new Date().toISOString(),
    upSeconds,
    upSecondsMedian: median(upSeconds),
    memoryMb: memory,
    totalMemoryMb: totalMb,
  };
  say(`\nstack up, median of ${runs}: ${result.upSecondsMedian.toFixed(1)} s`);
  for (const row of rows) say(`  ${row.name.padEnd(10)} ${String(mb(row.memoryBytes)).padStart(5)} MB`);
  say(`  ${'total'.padEnd(10)} ${String(totalMb).padStart(5)} MB (PSS, idle after start-up)`);
  writeResults('stack', result);
  if (!wasUp) await down();
}

runMain('bench', main, { usage: 'usage: npm run bench:stack [-- <runs>]   (3 runs by default)' });
