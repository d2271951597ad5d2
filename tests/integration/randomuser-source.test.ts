import { afterEach, describe, expect, it } from 'vitest';
import { REAL_ERROR_BODY } from '#infra/randomuser/server.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import { clearFaults, injectFault } from '../support/randomuser-faults.ts';

/** The pinned version, as fetch asks for it. */
const api = (query: string) => fetch(`${endpoints.randomuser.url}/api/1.4/?${query}`);

describe('the randomuser-compatible source, over HTTP', () => {
  afterEach(clearFaults);

  it('serves the v1.4 shape, the same users for the same seed and page', async () => {
    const first = (await (await api('results=50&seed=itest&page=3')).json()) as {
      results: unknown[];
      info: unknown;
    };
    const again = (await (await api('results=50&seed=itest&page=3')).json()) as { results: unknown[] };
    expect(first.info).toEqual({ seed: 'itest', results: 50, page: 3, version: '1.4' });
    expect(first.results).toHaveLength(50);
    expect(again.results).toEqual(first.results);
  });

  it('serves the same at the unversioned /api/, as the real API does', async () => {
    const pinned = (await (await api('results=5&seed=itest&page=2')).json()) as { results: unknown[] };
    const response = await fetch(`${endpoints.randomuser.url}/api/?results=5&seed=itest&page=2`);
    expect(((await response.json()) as { results: unknown[] }).results).toEqual(pinned.results);
  });

  it('answers 429 with the real API error body when told to, then recovers', async () => {
    await injectFault('429', 2);
    for (let i = 0; i < 2; i++) {
      const response = await api('results=1');
      expect(response.status).toBe(429);
      expect(await response.text()).toBe(REAL_ERROR_BODY);
    }
    expect((await api('results=1')).status).toBe(200);
  });

  it.each([
    ['500', 500, /^\{"error"/],
    ['503', 503, /^\{"error"/],
    ['html', 500, /^<!DOCTYPE html>/],
    ['malformed', 200, /^\{"results":\[\{"gender":"fem$/],
    ['no-results', 200, /^\{"info":/],
    ['short', 200, /^\{"results":\[\],"info":\{"seed":"[^"]*","results":1,/],
  ])('fault %s answers %s with the matching body', async (kind, status, body) => {
    await injectFault(kind);
    const response = await api('results=1');
    expect(response.status).toBe(status);
    expect(await response.text()).toMatch(body);
  });

  it('slows an answer down by the given delay', async () => {
    await injectFault('slow', 1, 600);
    const started = Date.now();
    expect((await api('results=1')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
  });

  it('refuses an unknown fault kind', async () => {
    const response = await fetch(`${endpoints.randomuser.url}/_faults`, {
      method: 'POST',
      body: '{"kind": "fire"}',
    });
    expect(response.status).toBe(400);
  });
});
