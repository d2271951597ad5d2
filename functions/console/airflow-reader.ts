import { airflowClient, AirflowError } from '#lib/airflow-client.ts';
import { BadRequestError, PipelineError, UpstreamError } from '#lib/errors.ts';
import type { AirflowRuns, TriggeredRun } from './api.ts';
import type { TriggerRequest } from './routes.ts';

/** Runs listed. */
const RECENT_RUNS = 10;
/** How long a logged-in client (its token) is kept: Airflow's tokens last longer by default. */
const CLIENT_TTL_MS = 10 * 60_000;

type AirflowClient = Awaited<ReturnType<typeof airflowClient>>;

/** Airflow down, refusing the login or answering 5xx: a 502 that says so, not an internal error. */
function unavailable(error: unknown): Error {
  if (error instanceof PipelineError) return error;
  return new UpstreamError(
    `Airflow did not answer as expected: ${error instanceof Error ? error.message : String(error)}`,
    error instanceof AirflowError ? error.status : undefined,
    { cause: error },
  );
}

/** The console's view of the DAG: its recent runs with their tasks, and manual runs. */
export function airflowReader(
  url: string,
  dagId: string,
  login: () => Promise<{ username: string; password: string }>,
) {
  // Logged in once, then kept: a poll every 5 s should not cost a secret read and a login each.
  let cached: { client: Promise<AirflowClient>; until: number } | undefined;
  const client = async (): Promise<AirflowClient> => {
    if (cached === undefined || cached.until < Date.now()) {
      const created = login().then((credentials) => airflowClient(url, credentials));
      cached = { client: created, until: Date.now() + CLIENT_TTL_MS };
      created.catch(() => {
        cached = undefined;
      });
    }
    return cached.client;
  };
  /** Runs `use` with the client; a token Airflow no longer takes makes the next call log in again. */
  const withClient = async <T>(use: (airflow: AirflowClient) => Promise<T>): Promise<T> => {
    try {
      return await use(await client());
    } catch (error) {
      if (error instanceof AirflowError && error.status === 401) cached = undefined;
      throw error;
    }
  };

  return {
    async runs(): Promise<AirflowRuns> {
      return withClient(async (airflow) => {
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
      }).catch((error: unknown) => {
        throw unavailable(error);
      });
    },
    /** Triggers a run with `conf`; the DAG's params judge it, and a refusal is the caller's 400. */
    async trigger(conf: TriggerRequest): Promise<TriggeredRun> {
      return withClient(async (airflow) => ({
        runId: await airflow.trigger(dagId, `console__${new Date().toISOString()}`, conf),
      })).catch((error: unknown) => {
        if (
          error instanceof AirflowError &&
          error.status >= 400 &&
          error.status < 500 &&
          error.status !== 401
        )
          throw new BadRequestError(`Airflow refused the run: ${error.detail}`);
        throw unavailable(error);
      });
    },
  };
}
