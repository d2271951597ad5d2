import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOffline, type Offline } from '#scripts/offline.ts';

describe('sls offline', () => {
  let offline: Offline;

  beforeAll(async () => {
    offline = await startOffline();
  });

  afterAll(async () => {
    await offline.stop();
  });

  it('serves GET /health from the bundled health function', async () => {
    const response = await fetch(`${offline.baseUrl}/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body: unknown = await response.json();
    expect(body).toMatchObject({ status: 'ok', service: 'user-pipeline' });
    expect(offline.output()).toContain('GET /local/health');
  });

  it('answers 404 on a route no function serves', async () => {
    const response = await fetch(`${offline.baseUrl}/nope`);
    expect(response.status).toBe(404);
  });
});
