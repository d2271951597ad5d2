import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterOf, sendDeadLetters } from '#functions/sink/dead-letter.ts';
import { airflowClient } from '#lib/airflow-client.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import { stackHome } from '#infra/stack/lib/paths.ts';
import { onPath } from '#infra/stack/lib/toolchain.ts';
import { localQueue } from '#infra/stack/local-stage/clients.ts';
import { localApiKey, localResources } from '#infra/stack/local-stage/resources.ts';
import { down, up } from '#infra/stack/stack.ts';
import { pipelineClient } from '#scripts/http-client.ts';
import { startOffline, type Offline } from '#scripts/offline.ts';
import { kafkaRecord, userEvent } from '../fixtures/kafka-events.ts';
import { cassandraClient, kafkaClient, unique } from '../support/clients.ts';
import { skipSinkBacklog, waitForCassandra } from '../support/stream-waits.ts';

/**
 * Airflow's connection to the functions names the default ports (OFFLINE_FUNCTIONS_URL): a run
 * triggered from the page must reach them.
 */
const ports = { http: 3000, lambda: 3002 };
const DAG_ID = 'users_pipeline';
const screenshot = path.join(stackHome, 'test-reports', 'console.png');

/**
 * The pipeline console as a person uses it: headless Chromium (Debian's package, which the test
 * command installs) on the page `sls offline` serves, the whole stack behind it.
 */
describe('the pipeline console, in a real browser against sls offline', () => {
  let offline: Offline;
  let browser: Browser;
  let page: Page;
  let apiKey: string;
  const browserErrors: string[] = [];
  const apiStatuses: number[] = [];
  const cassandra = cassandraClient();
  const kafka = kafkaClient('console-e2e');

  /** Drops the browser's own log lines of a refusal a test provoked on purpose. */
  const dropExpected = (text: string): void => {
    browserErrors.splice(0, browserErrors.length, ...browserErrors.filter((e) => !e.includes(text)));
  };
  const panel = (name: string) => page.locator(`[data-panel="${name}"]`);

  beforeAll(async () => {
    await up(['airflow']);
    apiKey = await localApiKey();
    await skipSinkBacklog();
    offline = await startOffline(ports);
    const executablePath = onPath('chromium');
    if (executablePath === undefined)
      throw new Error('chromium is missing: npm test installs it (apt-get install chromium)');
    // As root (CI), Chromium's sandbox cannot start.
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.on('pageerror', (error) => browserErrors.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') browserErrors.push(message.text());
    });
    page.on('response', (response) => {
      if (response.url().includes('/console/api/')) apiStatuses.push(response.status());
    });
  });

  afterAll(async () => {
    mkdirSync(path.dirname(screenshot), { recursive: true });
    // Whatever beforeAll got to start (a failed setup leaves some unset).
    await (page as Page | undefined)?.screenshot({ path: screenshot, fullPage: true });
    await (browser as Browser | undefined)?.close();
    await airflowClient(endpoints.airflow.url, endpoints.airflow.login)
      .then((airflow) => airflow.setPaused(DAG_ID, true))
      .catch(() => undefined);
    await (offline as Offline | undefined)?.stop();
    await cassandra.shutdown();
  });

  it('says so when the key is wrong (the API answered 403), and takes the right one', async () => {
    await page.goto(`${offline.baseUrl}/console`);
    await page.getByTestId('api-key-input').fill('not-the-key');
    await page.getByTestId('api-key-submit').click();
    await expect.poll(() => page.getByTestId('key-refused').isVisible(), { timeout: 15_000 }).toBe(true);
    expect(apiStatuses).toContain(403);
    // The browser logs the refused request itself; that one line is expected.
    browserErrors.splice(
      0,
      browserErrors.length,
      ...browserErrors.filter((e) => !e.includes('status of 403')),
    );

    await page.getByTestId('api-key-input').fill(apiKey);
    await page.getByTestId('api-key-submit').click();
    await expect.poll(() => page.getByTestId('key-refused').isVisible(), { timeout: 15_000 }).toBe(false);
    await expect
      .poll(() => panel('services').locator('[data-state="up"]').count(), { timeout: 30_000 })
      .toBeGreaterThan(3);
    // Kept for the session, never in the URL.
    expect(await page.evaluate(() => Object.values(sessionStorage).join(' '))).toContain(apiKey);
    expect(page.url()).not.toContain(apiKey);
  });

  it('follows an ingest until the page shows the batch complete: PostgreSQL = published = Cassandra', async () => {
    const api = pipelineClient(offline.baseUrl, apiKey);
    const fetched = await api.fetch(2000, unique('console'));
    await api.persist(String(fetched['key']));
    await api.drain();
    const row = panel('reconciliation').locator(`[data-batch-id="${String(fetched['batchId'])}"]`);
    await expect
      .poll(() => row.getAttribute('data-complete'), { timeout: 120_000, interval: 1000 })
      .toBe('true');
    expect(await row.textContent()).toContain('2,000');
  });

  it('shows a poison record under its reason, and replays a letter: the queue depth falls', async () => {
    const marker = unique('console-poison');
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer
      .send({ topic: localResources.usersTopic, acks: -1, messages: [{ key: marker, value: 'not avro' }] })
      .finally(() => producer.disconnect());
    const notWireFormat = panel('dead-letters').locator(
      '[data-reason="undecodable: not in the Confluent wire format (magic byte 0 + schema id)"]',
    );
    await expect.poll(() => notWireFormat.count(), { timeout: 60_000 }).toBe(1);

    // A letter whose record is valid after all (as after a sink fix): replayed, it lands and stays out.
    const registry = new SchemaRegistry({ host: endpoints.registry.url });
    const event = userEvent({ user_key: crypto.randomUUID(), updated_at: Date.now() });
    const value = Buffer.from(
      await registry.encode(await registry.getLatestSchemaId(localResources.usersSubject), event),
    );
    const reason = unique('planted: fixed since');
    await sendDeadLetters(localQueue(localResources.deadLetterQueue), [
      deadLetterOf(
        kafkaRecord({ key: event.user_key, value, topic: localResources.usersTopic }),
        reason,
        new Date(),
      ),
    ]);
    const planted = panel('dead-letters').locator(`[data-reason="${reason}"]`);
    await expect.poll(() => planted.count(), { timeout: 30_000 }).toBe(1);
    page.once('dialog', (dialog) => void dialog.accept());
    await planted.getByTestId('replay').click();
    await expect.poll(() => planted.count(), { timeout: 60_000 }).toBe(0);
    expect(await waitForCassandra(cassandra, [event.user_key], 60_000)).toMatchObject({ count: 1 });
  });

  it('triggers a DAG run from the form and lists it with its task states', async () => {
    const seed = unique('console-dag');
    const form = page.getByTestId('trigger-form');
    await form.locator('[name="count"]').fill('500');
    await form.locator('[name="seed"]').fill(seed);
    await form.locator('[name="nat"]').fill('');
    await form.locator('button[type="submit"], input[type="submit"]').first().click();
    const airflow = await airflowClient(endpoints.airflow.url, endpoints.airflow.login);
    let runId: string | undefined;
    await expect
      .poll(
        async () => {
          runId = (await airflow.runs(DAG_ID, 10)).find((r) => r.conf?.['seed'] === seed)?.dag_run_id;
          return runId !== undefined;
        },
        { timeout: 30_000 },
      )
      .toBe(true);
    await airflow.setPaused(DAG_ID, false);
    const row = panel('airflow').locator(`[data-run-id="${runId ?? ''}"]`);
    await expect.poll(() => row.textContent(), { timeout: 240_000, interval: 2000 }).toMatch(/success/);
    expect(await row.textContent()).toMatch(/move_chunks/);

    // The DAG's own validation, relayed: a count of 0 is refused with Airflow's message.
    await form.locator('[name="count"]').fill('0');
    await form.locator('button[type="submit"], input[type="submit"]').first().click();
    await expect.poll(() => form.textContent(), { timeout: 15_000 }).toMatch(/Airflow refused the run/);
    // The browser logs the refused request itself; that one line is expected.
    dropExpected('status of 400');
  });

  it('marks a dependency that goes away as down while the other panels keep their data', async () => {
    await down(['registry']);
    try {
      const registryDown = panel('services').locator('[data-state="down"]', { hasText: 'registry' });
      await expect.poll(() => registryDown.count(), { timeout: 30_000 }).toBe(1);
      expect(await panel('reconciliation').locator('[data-batch-id]').count()).toBeGreaterThan(0);
      expect(await panel('flow').textContent()).toMatch(/PostgreSQL/);
    } finally {
      await up(['registry']);
    }
    await expect
      .poll(() => panel('services').locator('[data-state="down"]').count(), { timeout: 60_000 })
      .toBe(0);
  });

  it('logged no error in the browser', () => {
    expect(browserErrors).toEqual([]);
  });
});
