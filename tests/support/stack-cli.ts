import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '#infra/stack/lib/paths.ts';

/** Runs `npm run stack -- <args>` as a user would (plain tsx, no test runner in between), with extra environment. */
export function stackCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(path.join(repoRoot, 'node_modules/.bin/tsx'), ['infra/stack/cli.ts', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}
