import { afterEach, describe, expect, it, vi } from 'vitest';
import { airflowClient } from '#lib/airflow-client.ts';

/** Airflow's API as a fake fetch: a token, a list of runs, and every call it was asked. */
function fakeAirflow(runs: { dag_run_id: string; state: string }[]) {
  const calls: string[] = [];
  vi.stubGlobal('fetch', (url: string, init: RequestInit) => {
    const path = url.replace('http://airflow', '');
    const sent = typeof init.body === 'string' && init.method === 'PATCH' ? ` ${init.body}` : '';
    calls.push(`${init.method ?? 'GET'} ${path}${sent}`);
    const body = path.startsWith('/auth/token')
      ? { access_token: 't' }
      : path.includes('/dagRuns?')
        ? { dag_runs: runs.map((r) => ({ ...r, start_date: null, end_date: null, conf: {} })) }
        : {};
    return Promise.resolve(
      new Response(init.method === 'DELETE' ? '' : JSON.stringify(body), { status: 200 }),
    );
  });
  return calls;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('dropUnfinishedRuns', () => {
  it("deletes the schedule's queued runs and fails its running ones, never a manual run or a finished one", async () => {
    const calls = fakeAirflow([
      { dag_run_id: 'scheduled__2026-12-01T15:45:00+00:00', state: 'running' },
      { dag_run_id: 'scheduled__2026-12-01T15:50:00+00:00', state: 'queued' },
      { dag_run_id: 'scheduled__2026-12-01T15:40:00+00:00', state: 'success' },
      { dag_run_id: 'bench__2026-12-01T15:52:33.891Z', state: 'running' },
    ]);
    const airflow = await airflowClient('http://airflow', { username: 'admin', password: 'admin' });
    await airflow.dropUnfinishedRuns('users_pipeline');
    expect(calls.filter((c) => c.startsWith('DELETE') || c.startsWith('PATCH'))).toEqual([
      `PATCH /api/v2/dags/users_pipeline/dagRuns/${encodeURIComponent('scheduled__2026-12-01T15:45:00+00:00')} {"state":"failed"}`,
      `DELETE /api/v2/dags/users_pipeline/dagRuns/${encodeURIComponent('scheduled__2026-12-01T15:50:00+00:00')}`,
    ]);
  });

  it('ends the unfinished runs whose id starts with another prefix (a chaos run cut short)', async () => {
    const calls = fakeAirflow([
      { dag_run_id: 'chaos__2026-12-01T19:10:11.885Z__main', state: 'running' },
      { dag_run_id: 'scheduled__2026-12-01T15:50:00+00:00', state: 'queued' },
    ]);
    const airflow = await airflowClient('http://airflow', { username: 'admin', password: 'admin' });
    await airflow.dropUnfinishedRuns('users_pipeline', 'chaos__');
    expect(calls.filter((c) => c.startsWith('DELETE') || c.startsWith('PATCH'))).toEqual([
      `PATCH /api/v2/dags/users_pipeline/dagRuns/${encodeURIComponent('chaos__2026-12-01T19:10:11.885Z__main')} {"state":"failed"}`,
    ]);
  });
});
