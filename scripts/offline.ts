/**
 * `npm run offline`: serves the functions with `sls offline` against the local stack, with the
 * stack's API key (printed once) and the AWS emulator's test credentials. Bring the stack up first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { localApiKey } from '#infra/stack/local-stage/resources.ts';
import { localLambdaRuntimeEnvironment } from '#infra/stack/local-stage/function-env.ts';
import { repoRoot, stackHome } from '#infra/stack/lib/paths.ts';
import { stopProcess } from '#infra/stack/lib/process.ts';
import { waitUntil } from '#infra/stack/lib/wait.ts';
import { helpRequested, say } from './cli.ts';

/**
 * The environment `sls offline` needs for the local stage (no secret: emulator credentials). The stack
 * home, absolute, so that serverless.yml's local store folder is the stack's own whatever the cwd.
 */
export async function offlineEnvironment(): Promise<NodeJS.ProcessEnv> {
  return { PIPELINE_API_KEY: await localApiKey(), STACK_HOME: stackHome, ...localLambdaRuntimeEnvironment };
}

/** A running `sls offline` (what `npm run offline` starts), with its base URL and its output so far. */
export interface Offline {
  readonly baseUrl: string;
  /** The `sls offline` process: it hosts every function (in worker threads) and the Kafka trigger. */
  readonly pid: number;
  readonly output: () => string;
  readonly stop: () => Promise<void>;
  /** kill -9 of the whole process group: no handler, no hook, no commit gets to run. */
  readonly kill: () => Promise<void>;
}

/**
 * Starts `sls offline start` on the given ports, waits until GET /health answers, and returns a
 * handle whose `stop` ends it and its worker threads. Fails with its output if it does not come up.
 */
export async function startOffline(ports = { http: 3000, lambda: 3002 }, stage = 'local'): Promise<Offline> {
  let output = '';
  const child: ChildProcess = spawn(
    path.join(repoRoot, 'node_modules/.bin/sls'),
    ['offline', 'start', '--stage', stage],
    {
      cwd: repoRoot,
      detached: true,
      env: {
        ...process.env,
        ...(await offlineEnvironment()),
        OFFLINE_HTTP_PORT: String(ports.http),
        OFFLINE_LAMBDA_PORT: String(ports.lambda),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const baseUrl = `http://127.0.0.1:${ports.http}/${stage}`;
  const stop = async (): Promise<void> => {
    if (child.pid !== undefined && child.exitCode === null) await stopProcess(child.pid, 10_000);
  };
  const kill = async (): Promise<void> => {
    if (child.pid === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid, 'SIGKILL');
    await exited;
  };
  const ready = await waitUntil(
    async () => (await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) })).ok,
    {
      timeoutMs: 120_000,
      intervalMs: 500,
      stopEarly: () => Promise.resolve(child.exitCode === null ? undefined : `exited with ${child.exitCode}`),
    },
  );
  if (!ready.ok) {
    await stop();
    throw new Error(`sls offline did not come up (${ready.reason}):\n${output.slice(-3000)}`);
  }
  return { baseUrl, pid: child.pid ?? 0, output: () => output, stop, kill };
}

if (process.argv[1]?.endsWith('offline.ts') === true && helpRequested()) {
  say(
    'usage: npm run offline [-- <sls offline start options>]   (the stack must be up: npm run stack -- up)\n\n' +
      "sls offline's own options: npx sls offline start --help",
  );
} else if (process.argv[1]?.endsWith('offline.ts') === true) {
  const env = await offlineEnvironment();
  process.stdout.write(`API key for x-api-key: ${env['PIPELINE_API_KEY'] ?? ''}\n`);
  const child = spawn(
    path.join(repoRoot, 'node_modules/.bin/sls'),
    ['offline', 'start', ...process.argv.slice(2)],
    {
      cwd: repoRoot,
      stdio: 'inherit',
      env: { ...process.env, ...env },
    },
  );
  child.on('exit', (code) => process.exit(code ?? 1));
}
