import { describe, expect, it } from 'vitest';
import { failuresOf, runChaos, type ChaosResult } from '#scripts/chaos/run.ts';
import { renderTable } from '#scripts/chaos/report.ts';
import { FAULTS } from '#scripts/chaos/schedule.ts';

/**
 * The short chaos run of the test command: 20,000 users through the DAG (and the load runs beside
 * them) while each process is killed once, with every end check of `npm run chaos`. The seed is
 * fixed so that a failure repeats with `npm run chaos -- --users 20000 --rounds 1 --seed npmtest`.
 */
describe('the pipeline under kill -9 of each process, poison and load', () => {
  let result: ChaosResult;

  it('ends with every guarantee held', { timeout: 60 * 60_000 }, async () => {
    result = await runChaos({
      users: 20_000,
      rounds: 1,
      seed: 'npmtest',
      timeoutMs: 40 * 60_000,
      say: (line) => {
        process.stdout.write(`[chaos] ${line}\n`);
      },
    });
    process.stdout.write(`${renderTable(result.table)}\n`);
    expect(failuresOf(result)).toEqual([]);
  });

  it('killed every process once, and each came back', () => {
    expect(result.kills.map((k) => k.fault).sort()).toEqual([...FAULTS].sort());
    for (const kill of result.kills) expect(kill.backAtMs).toBeGreaterThan(kill.killedAtMs);
  });

  it('moved at least 20,000 users through the DAG, in runs at once', () => {
    expect(result.usersThroughDag).toBeGreaterThanOrEqual(20_000);
    expect(result.runs.length).toBeGreaterThanOrEqual(3);
    expect(result.stores.every((s) => s.postgres > 0 && s.cassandra === s.postgres)).toBe(true);
  });

  it('planted at least ten kinds of poison, and the DLQ holds exactly those meant for it', () => {
    expect(result.poison.length).toBeGreaterThanOrEqual(10);
    expect(result.deadLetters).toMatchObject({
      found: result.deadLetters.planted,
      missing: [],
      unexpected: [],
      duplicates: 0,
    });
  });

  it('read every log the run left, and found no personal value', () => {
    expect(result.logs.files).toBeGreaterThan(5);
    expect(result.logs.hits).toEqual([]);
  });
});
