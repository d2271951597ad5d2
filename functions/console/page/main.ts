/// <reference lib="dom" />
import type { Snapshot } from '../api.ts';
import { createAirflowPanel } from './airflow.ts';
import { KeyRefused, Poller, apiKey, createClient, describeError } from './client.ts';
import { createDeadLettersPanel } from './dead-letters.ts';
import { errorLine, fill, h } from './dom.ts';
import { createFlowPanel } from './flow.ts';
import { formatAgo, formatDuration } from './format.ts';
import { createFreshnessPanel } from './freshness.ts';
import { addSample } from './history.ts';
import type { Sample } from './history.ts';
import type { Panel } from './panel.ts';
import { createReconciliationPanel } from './reconciliation.ts';
import { createSchemasPanel } from './schemas.ts';
import { createServicesPanel } from './services.ts';
import { createTracePanel } from './trace.ts';

/**
 * The pipeline console: asks for the API key once per tab, then polls the snapshot every ~2 s and
 * hands it to each panel; the panels with their own endpoints poll those themselves.
 */

const SNAPSHOT_INTERVAL_MS = 2000;

const client = createClient(() => {
  refused();
});

const panels: Panel[] = [
  createFlowPanel(),
  createServicesPanel(),
  createFreshnessPanel(),
  createReconciliationPanel(),
  createDeadLettersPanel(client),
  createAirflowPanel(client),
  createSchemasPanel(client),
  createTracePanel(client),
];

const stage = h('span', { class: 'stage-name', 'data-testid': 'stage' });
const updated = h('span', { class: 'updated', 'data-testid': 'updated' }, 'not updated yet');
const banner = h('div', { class: 'banner', role: 'alert', 'data-testid': 'fetch-error', hidden: true });
const keyInput = h('input', {
  type: 'password',
  name: 'api-key',
  autocomplete: 'off',
  required: true,
  'aria-label': 'API key',
  'data-testid': 'api-key-input',
});
const keyRefused = h(
  'p',
  { class: 'error', role: 'alert', 'data-testid': 'key-refused', hidden: true },
  'The API key was refused. Enter it again.',
);
const keyForm = h(
  'form',
  { class: 'key-form', 'data-testid': 'api-key-form' },
  h('h2', {}, 'API key'),
  h('p', {}, 'The console’s API needs the stage’s API key. It is kept in this tab only.'),
  keyRefused,
  h(
    'div',
    { class: 'inline-form' },
    keyInput,
    h('button', { type: 'submit', 'data-testid': 'api-key-submit' }, 'Open the console'),
  ),
);
const changeKey = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Change the key');
const grid = h('main', { class: 'grid' }, ...panels.map((panel) => panel.element));

document.body.append(
  h('header', {}, h('h1', {}, 'Pipeline console'), stage, updated, changeKey),
  banner,
  keyForm,
  grid,
);

let history: Sample[] = [];
/** When the last snapshot arrived, by the browser's clock: "updated 3 s ago" is the browser's view. */
let lastArrival: number | null = null;

const readSnapshot = async (): Promise<void> => {
  try {
    const snapshot = await client.get<Snapshot>('snapshot');
    lastArrival = Date.now();
    history = addSample(history, snapshot);
    banner.hidden = true;
    stage.textContent = `stage ${snapshot.stage}`;
    stage.title = `read in ${formatDuration(snapshot.durationMs)} server-side`;
    for (const panel of panels) {
      const slot = panel.element.querySelector('.panel-error');
      try {
        panel.onSnapshot?.(snapshot, history);
        if (slot !== null) fill(slot);
      } catch (error) {
        // A panel that cannot render this answer says so; the others still render theirs.
        if (slot !== null)
          fill(slot, errorLine(`this panel could not show the snapshot: ${describeError(error)}`));
      }
    }
  } catch (error) {
    if (error instanceof KeyRefused) return;
    // The last data stays on the page, under the banner.
    banner.hidden = false;
    fill(banner, `The snapshot could not be read: ${describeError(error)}. Showing the last one; retrying.`);
  }
  showAge();
};
const snapshots = new Poller(SNAPSHOT_INTERVAL_MS, readSnapshot);

function showAge(): void {
  if (lastArrival !== null) updated.textContent = `updated ${formatAgo(Date.now() - lastArrival)}`;
}
setInterval(showAge, 1000);

function start(): void {
  keyForm.hidden = true;
  changeKey.hidden = false;
  snapshots.start();
  for (const panel of panels) panel.start?.();
}

function stop(): void {
  snapshots.stop();
  for (const panel of panels) panel.stop?.();
}

function askForKey(): void {
  stop();
  keyForm.hidden = false;
  changeKey.hidden = true;
  keyInput.value = '';
  keyInput.focus();
}

function refused(): void {
  apiKey.clear();
  keyRefused.hidden = false;
  askForKey();
}

keyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const key = keyInput.value.trim();
  if (key === '') return;
  apiKey.set(key);
  keyRefused.hidden = true;
  start();
});
changeKey.addEventListener('click', () => {
  apiKey.clear();
  keyRefused.hidden = true;
  askForKey();
});

if (apiKey.get() === null) askForKey();
else start();
