import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../infra/stack/lib/paths.js';
import { stopProcess } from '../../infra/stack/lib/process.js';
import { waitUntil } from '../../infra/stack/lib/wait.js';
import { offlineEnvironment } from '../../scripts/offline.js';

/** A running `sls offline` (what `npm run offline` starts), with its base URL and its output so far. */
export interface Offline {
  readonly baseUrl: string;
  readonly output: () => string;
  readonly stop: () => Promise<void>;
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
  return { baseUrl, output: () => output, stop };
}
