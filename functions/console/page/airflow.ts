/// <reference lib="dom" />
import type { AirflowRuns, AirflowTask, TriggeredRun } from '../api.ts';
import { Poller, describeError } from './client.ts';
import type { Client } from './client.ts';
import { card, chip, errorLine, fill, h } from './dom.ts';
import { durationBetween, formatDuration, formatTime } from './format.ts';
import type { Panel } from './panel.ts';

/** The users_pipeline DAG: its recent runs and their tasks every ~5 s, and a form that triggers one. */

function taskChip(task: AirflowTask): HTMLElement {
  const duration = task.durationSeconds === null ? '' : ` ${formatDuration(task.durationSeconds * 1000)}`;
  const tries = task.tryNumber > 1 ? ` (try ${task.tryNumber})` : '';
  const element = chip(task.state, `${task.taskId}${duration}${tries}`);
  element.title = `${task.taskId}: ${task.state ?? 'no state'}, try ${task.tryNumber}`;
  return element;
}

/** A finished run's duration, or how long a running one has run so far. */
function runDuration(run: AirflowRuns['runs'][number]): string {
  if (run.endDate === null && run.startDate !== null) {
    return `${formatDuration(Date.now() - Date.parse(run.startDate))} so far`;
  }
  return formatDuration(durationBetween(run.startDate, run.endDate));
}

function runRow(run: AirflowRuns['runs'][number]): HTMLElement {
  return h(
    'tr',
    { 'data-run-id': run.runId, 'data-state': run.state },
    h('td', { class: 'mono' }, run.runId),
    h('td', {}, chip(run.state)),
    h('td', {}, formatTime(run.startDate)),
    h('td', {}, formatTime(run.endDate)),
    h('td', { class: 'num' }, runDuration(run)),
    h('td', { class: 'tasks' }, ...run.tasks.map(taskChip)),
  );
}

/** The form's values as the DAG's params want them: empty seed and nat are null (its defaults). */
function triggerBody(form: HTMLFormElement): { count: number; seed: string | null; nat: string | null } {
  const data = new FormData(form);
  const text = (name: string) => {
    const value = data.get(name);
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
  };
  return { count: Number(text('count') ?? 'NaN'), seed: text('seed'), nat: text('nat') };
}

export function createAirflowPanel(client: Client): Panel {
  const header = h('div', { class: 'airflow-header' });
  const runs = h('div', {}, h('p', { class: 'muted' }, 'loading…'));
  const result = h('span', { class: 'form-result', 'data-testid': 'trigger-result', 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'inline-form', 'data-testid': 'trigger-form' },
    h(
      'label',
      {},
      'count ',
      // No min or max here: the DAG's own params judge the count, and the page shows their answer.
      h('input', { name: 'count', type: 'number', value: 100, required: true }),
    ),
    h(
      'label',
      {},
      'seed ',
      h('input', { name: 'seed', type: 'text', placeholder: 'from the run id', size: 14 }),
    ),
    h('label', {}, 'nat ', h('input', { name: 'nat', type: 'text', placeholder: 'all, or GB,FR', size: 10 })),
    h('button', { type: 'submit' }, 'Trigger a run'),
    result,
  );
  const element = card('airflow', 'Airflow', header, form, runs);
  element.classList.add('wide');

  const load = async (): Promise<void> => {
    try {
      const answer = await client.get<AirflowRuns>('airflow/runs');
      fill(
        header,
        h('span', {}, `DAG ${answer.dagId}`),
        answer.paused ? chip('paused', 'paused') : chip('active', 'active'),
        h('a', { href: answer.uiUrl, target: '_blank', rel: 'noopener noreferrer' }, 'Open the Airflow UI'),
      );
      fill(
        runs,
        answer.runs.length === 0
          ? h('p', { class: 'muted' }, 'no run yet')
          : h(
              'table',
              {},
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ...['run', 'state', 'start', 'end', 'duration', 'tasks'].map((title) => h('th', {}, title)),
                ),
              ),
              h('tbody', {}, ...answer.runs.map(runRow)),
            ),
      );
    } catch (error) {
      fill(runs, errorLine(`the runs could not be read: ${describeError(error)}`));
    }
  };

  const trigger = async (): Promise<void> => {
    const submit = form.querySelector('button[type="submit"]');
    if (submit instanceof HTMLButtonElement) submit.disabled = true;
    result.className = 'form-result';
    fill(result, 'triggering…');
    try {
      const run = await client.post<TriggeredRun>('airflow/runs', triggerBody(form));
      result.classList.add('ok');
      fill(result, 'triggered ', h('span', { class: 'mono', 'data-testid': 'new-run-id' }, run.runId));
      await load();
    } catch (error) {
      // A 4xx carries Airflow's own validation message (the API relays it): shown as it is.
      result.classList.add('error');
      fill(result, describeError(error));
    } finally {
      if (submit instanceof HTMLButtonElement) submit.disabled = false;
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void trigger();
  });

  const poller = new Poller(5000, load);
  return {
    element,
    start: () => {
      poller.start();
    },
    stop: () => {
      poller.stop();
    },
  };
}
