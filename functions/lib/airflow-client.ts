/**
 * The few calls of Airflow's REST API (v2) that the demo, the benchmark and the console make: log
 * in, unpause the DAG, trigger a run with its conf, list runs, drop the schedule's unfinished ones,
 * and follow their task instances and a task's result. Every answer is parsed with zod; a non-2xx
 * answer throws an AirflowError with Airflow's own message.
 */
import { z } from 'zod';

/** Airflow answered a call with a non-2xx status; `detail` is its own message. */
export class AirflowError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    message: string,
  ) {
    super(message);
    this.name = 'AirflowError';
  }
}

/** The message of Airflow's error body (FastAPI's `detail`, a string or a list of problems). */
function detailOf(text: string): string {
  try {
    const body = JSON.parse(text) as { detail?: unknown };
    if (typeof body.detail === 'string') return body.detail;
    if (Array.isArray(body.detail))
      return body.detail
        .map((d: { msg?: unknown; loc?: unknown }) =>
          [Array.isArray(d.loc) ? d.loc.join('.') : '', typeof d.msg === 'string' ? d.msg : '']
            .filter((part) => part !== '')
            .join(': '),
        )
        .join('; ');
  } catch {
    // Not JSON: the text itself.
  }
  return text.slice(0, 300);
}

const Token = z.object({ access_token: z.string().min(1) });
const DagRun = z.object({
  dag_run_id: z.string(),
  state: z.string(),
  start_date: z.string().nullable(),
  end_date: z.string().nullable(),
  conf: z.record(z.string(), z.unknown()).nullish(),
});
const DagRuns = z.object({ dag_runs: z.array(DagRun) });
const Dag = z.object({ dag_id: z.string(), is_paused: z.boolean() });
const TaskInstances = z.object({
  task_instances: z.array(
    z.object({
      task_id: z.string(),
      state: z.string().nullable(),
      try_number: z.number(),
      duration: z.number().nullable(),
    }),
  ),
});
const XCom = z.object({ value: z.unknown() });

/** One task of a run: its state (null before it is scheduled), attempt and duration in seconds. */
export type TaskInstance = z.infer<typeof TaskInstances>['task_instances'][number];

/** A logged-in client of the Airflow API server at `baseUrl`. */
export async function airflowClient(baseUrl: string, login: { username: string; password: string }) {
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(token === '' ? {} : { authorization: `Bearer ${token}` }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    if (!response.ok) {
      const detail = detailOf(text);
      throw new AirflowError(
        response.status,
        detail,
        `Airflow ${method} ${path} answered ${response.status}: ${detail}`,
      );
    }
    return text === '' ? {} : (JSON.parse(text) as unknown);
  };
  let token = '';
  token = Token.parse(await call('POST', '/auth/token', login)).access_token;
  const dagPath = (dagId: string): string => `/api/v2/dags/${encodeURIComponent(dagId)}`;

  return {
    /** The DAG: whether it is paused. */
    dag: async (dagId: string): Promise<z.infer<typeof Dag>> => Dag.parse(await call('GET', dagPath(dagId))),
    /** The DAG's latest `limit` runs, newest first. */
    runs: async (dagId: string, limit: number): Promise<z.infer<typeof DagRun>[]> =>
      DagRuns.parse(await call('GET', `${dagPath(dagId)}/dagRuns?order_by=-run_after&limit=${limit}`))
        .dag_runs,
    /** Pauses or unpauses the DAG: unpaused, its schedule runs and queued runs may start. */
    setPaused: async (dagId: string, paused: boolean): Promise<void> => {
      await call('PATCH', dagPath(dagId), { is_paused: paused });
    },
    /** Waits until the DAG processor has parsed the DAG (the API knows it), or throws after `timeoutMs`. */
    waitForDag: async (dagId: string, timeoutMs: number): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          await call('GET', dagPath(dagId));
          return;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 2000));
        }
      }
    },
    /**
     * Queues a manual run named `runId` with `conf` (the DAG's params); returns its run id. Queued
     * runs start in order of `runAfter` (default now).
     */
    trigger: async (
      dagId: string,
      runId: string,
      conf: Record<string, unknown>,
      runAfter = new Date(),
    ): Promise<string> =>
      DagRun.parse(
        await call('POST', `${dagPath(dagId)}/dagRuns`, {
          dag_run_id: runId,
          logical_date: null,
          run_after: runAfter.toISOString(),
          conf,
        }),
      ).dag_run_id,
    /**
     * Ends the DAG's unfinished runs that its schedule made (`scheduled__…`, or those whose id starts
     * with `prefix`), other runs kept: one queued or left half done by a pause would go on first
     * once the DAG is unpaused. A queued run is deleted; a running one is marked failed (Airflow
     * refuses to delete a running run).
     */
    dropUnfinishedRuns: async (dagId: string, prefix = 'scheduled__'): Promise<void> => {
      const runs = DagRuns.parse(
        await call('GET', `${dagPath(dagId)}/dagRuns?order_by=-run_after&limit=20`),
      ).dag_runs;
      for (const run of runs.filter((r) => r.dag_run_id.startsWith(prefix))) {
        const runPath = `${dagPath(dagId)}/dagRuns/${encodeURIComponent(run.dag_run_id)}`;
        if (run.state === 'queued') await call('DELETE', runPath);
        else if (run.state === 'running') await call('PATCH', runPath, { state: 'failed' });
      }
    },
    /** The run: its state (queued, running, success, failed) and when it started and ended. */
    run: async (dagId: string, runId: string): Promise<z.infer<typeof DagRun>> =>
      DagRun.parse(await call('GET', `${dagPath(dagId)}/dagRuns/${encodeURIComponent(runId)}`)),
    taskInstances: async (dagId: string, runId: string): Promise<TaskInstance[]> =>
      TaskInstances.parse(
        await call('GET', `${dagPath(dagId)}/dagRuns/${encodeURIComponent(runId)}/taskInstances`),
      ).task_instances,
    /** What a finished task returned (its `return_value` XCom). */
    returnValue: async (dagId: string, runId: string, taskId: string): Promise<unknown> =>
      XCom.parse(
        await call(
          'GET',
          `${dagPath(dagId)}/dagRuns/${encodeURIComponent(runId)}/taskInstances/${taskId}/xcomEntries/return_value`,
        ),
      ).value,
  };
}

/**
 * Unpauses the DAG for runs of one's own (a benchmark's, the chaos run's), after dropping what its
 * schedule left unfinished: such a run would go on first once it is unpaused. The returned function
 * puts the pause back as it was, and drops the scheduled runs made meanwhile.
 */
export async function unpausedForOwnRuns(
  airflow: Awaited<ReturnType<typeof airflowClient>>,
  dagId: string,
): Promise<() => Promise<void>> {
  const wasPaused = (await airflow.dag(dagId)).is_paused;
  if (wasPaused) await airflow.dropUnfinishedRuns(dagId);
  await airflow.setPaused(dagId, false);
  return async () => {
    if (!wasPaused) return;
    await airflow.setPaused(dagId, true);
    await airflow.dropUnfinishedRuns(dagId);
  };
}
