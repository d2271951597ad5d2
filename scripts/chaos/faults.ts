/**
 * How the chaos run kills each process and how it comes back. A kill is SIGKILL of the process's whole
 * group (the JVM of Kafka or Cassandra, the Spark driver and its Python side, `sls offline` and its
 * worker threads): no shutdown hook, no flush, no commit runs. The local stack has no supervisor, so
 * the suite plays one: right after the process is gone it runs `stack up`, as a user (or systemd's
 * Restart=always) would, and `sls offline` is started again as `npm run offline` starts it.
 */
import { isAlive, sleep } from '#infra/stack/lib/process.ts';
import { services } from '#infra/stack/services/index.ts';
import { up } from '#infra/stack/stack.ts';
import type { Offline } from '../offline.ts';
import type { Fault } from './schedule.ts';

/** SIGKILL to a process group (every service is started as one), then waits until it is gone. */
export async function killGroup(pid: number): Promise<void> {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    process.kill(pid, 'SIGKILL');
  }
  const deadline = Date.now() + 30_000;
  while ((await isAlive(pid)) && Date.now() < deadline) await sleep(100);
  if (await isAlive(pid)) throw new Error(`process ${pid} still runs 30 s after SIGKILL`);
}

/** The service whose process a fault kills (`sls-offline` is `sls offline`, not a stack service). */
const serviceOf = (fault: Exclude<Fault, 'sls-offline'>) => {
  const service = services.find((s) => s.name === fault);
  if (service === undefined) throw new Error(`no stack service is named ${fault}`);
  return service;
};

export interface Injected {
  readonly fault: Fault;
  readonly killedAtMs: number;
  /** When the process answered healthy again (the stack's own health check, or `sls offline`'s /health). */
  readonly backAtMs: number;
  readonly pid: number;
}

/**
 * Kills `fault`'s process and brings it back. `offline` is the running `sls offline`; the one
 * running afterwards is returned (a new one when it was the one killed).
 */
export async function inject(
  fault: Fault,
  offline: Offline,
  restartOffline: () => Promise<Offline>,
  report: (line: string) => void,
): Promise<{ injected: Injected; offline: Offline }> {
  if (fault === 'sls-offline') {
    const killedAtMs = Date.now();
    await offline.kill();
    const next = await restartOffline();
    return { injected: { fault, killedAtMs, backAtMs: Date.now(), pid: offline.pid }, offline: next };
  }
  const pid = await serviceOf(fault).pid();
  if (pid === undefined) throw new Error(`${fault} is not running, so it cannot be killed`);
  const killedAtMs = Date.now();
  await killGroup(pid);
  // The whole stack: a service that lost the one killed (Airflow without PostgreSQL) comes back too.
  await up([], report);
  return { injected: { fault, killedAtMs, backAtMs: Date.now(), pid }, offline };
}
