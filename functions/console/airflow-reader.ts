import { airflowClient, AirflowError } from '#lib/airflow-client.ts';
import { BadRequestError, UpstreamError } from '#lib/errors.ts';
import type { AirflowRuns, TriggeredRun } from './api.ts';
import type { TriggerRequest } from './routes.ts';

/** Runs listed. */
const RECENT_RUNS = 10;

/** The console's view of the DAG: its recent runs with their tasks, and manual runs. */
export function airflowReader(
  url: string,
  dagId: string,
  login: () => Promise<{ username: string; password: string }>,
) {
  const client = async () => airflowClient(url, await login());
  return {
    async runs(): Promise<AirflowRuns> {
      const airflow = await client();
      const [dag, runs] = await Promise.all([airflow.dag(dagId), airflow.runs(dagId, RECENT_RUNS)]);
      return {
        dagId,
        uiUrl: `${url}/dags/${dagId}`,
        paused: dag.is_paused,
        runs: await Promise.all(
          runs.map(async (run) => ({
            runId: run.dag_run_id,
            state: run.state,
            startDate: run.start_date,
            endDate: run.end_date,
            conf: run.conf ?? {},
            tasks: (await airflow.taskInstances(dagId, run.dag_run_id)).map((t) => ({
              taskId: t.task_id,
              state: t.state,
              tryNumber: t.try_number,
              durationSeconds: t.duration,
            })),
          })),
        ),
      };
    },
    /** Triggers a run with `conf`; the DAG's params judge it, and a refusal is the caller's 400. */
    async trigger(conf: TriggerRequest): Promise<TriggeredRun> {
      const airflow = await client();
      try {
        return { runId: await airflow.trigger(dagId, `console__${new Date().toISOString()}`, conf) };
      } catch (error) {
        if (error instanceof AirflowError && error.status >= 400 && error.status < 500)
          throw new BadRequestError(`Airflow refused the run: ${error.detail}`);
        throw new UpstreamError(
          'Airflow could not trigger the run',
          error instanceof AirflowError ? error.status : undefined,
          { cause: error },
        );
      }
    },
  };
}
