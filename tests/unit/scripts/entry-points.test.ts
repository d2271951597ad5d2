import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { repoRoot } from '#infra/pipeline/files.ts';

const run = promisify(execFile);

const Package = z.object({ scripts: z.record(z.string(), z.string()) });
const { scripts } = Package.parse(JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')));

/** Runners of the project's own entry points: `tsx <file>` and `node <file>`. */
const runners = new Set(['tsx', 'node']);
/** Third-party command lines: their own CLIs, not files of this project. */
const tools = new Set(['vitest', 'tsc', 'eslint', 'prettier', 'npm']);

/** Each project file a script starts, with the runner it starts it with (several scripts share one). */
const entryPoints = new Map<string, string>();
const unknown: string[] = [];
for (const [name, command] of Object.entries(scripts)) {
  const [runner = '', file] = command.trim().split(/\s+/);
  if (runners.has(runner) && file !== undefined) entryPoints.set(file, runner);
  else if (!tools.has(runner)) unknown.push(`${name}: ${command}`);
}

/** runMain (scripts/cli.ts) answers --help for its command; the others handle it themselves. */
const answersHelp = (file: string): boolean =>
  /runMain\(|helpRequested\(|'--help'|\bhelp: \{/.test(readFileSync(path.join(repoRoot, file), 'utf8'));

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Starts an entry point as `npm run` does (its runner from node_modules/.bin on PATH, in the repo)
 * with `--help`: every module it imports is loaded, then it prints its usage and exits before any
 * work. Plain tsx and node, not vitest's or esbuild's module loading, which hide CommonJS/ESM
 * interop faults (a named import that only a bundler's interop provides).
 */
async function startWithHelp(runner: string, file: string): Promise<Outcome> {
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST'))),
    PATH: `${path.join(repoRoot, 'node_modules/.bin')}${path.delimiter}${process.env['PATH'] ?? ''}`,
  };
  try {
    const { stdout, stderr } = await run(runner, [file, '--help'], {
      cwd: repoRoot,
      env,
      timeout: 45_000,
      encoding: 'utf8',
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? String(error),
    };
  }
}

/** Every npm script's entry point, started the way a user starts it. */
describe('npm scripts', () => {
  const outcomes = new Map<string, Outcome>();

  beforeAll(async () => {
    // Only those whose source shows a --help path: one without would do its real work here (bring
    // the stack up, run a benchmark). In parallel: each one is a second or two of module loading.
    const started = [...entryPoints]
      .filter(([file]) => answersHelp(file))
      .map(async ([file, runner]) => {
        outcomes.set(file, await startWithHelp(runner, file));
      });
    await Promise.all(started);
  }, 60_000);

  it('are each a project entry point on tsx or node, or a known tool', () => {
    expect(unknown).toEqual([]);
    expect(entryPoints.get('infra/aws/bootstrap.ts')).toBe('tsx');
  });

  it.each([...entryPoints.keys()])('%s loads and answers --help without crashing', (file) => {
    expect(answersHelp(file), `${file} needs a --help that exits before any work`).toBe(true);
    const outcome = outcomes.get(file);
    expect(outcome?.stderr, file).toBe('');
    expect(outcome?.code, file).toBe(0);
    expect(outcome?.stdout, file).toMatch(/^usage: /m);
  });
});
