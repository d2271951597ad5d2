import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomuserSource } from '#functions/fetch/source.ts';
import { createSourceServer } from '#infra/randomuser/server.ts';

/** The source server, in-process on a loopback port of its own (not the stack's). */
const server = createSourceServer();
let base = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const fault = (kind: string) =>
  fetch(`${base}/_faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind }),
  });

describe('the randomuser-compatible source server', () => {
  it.each(['/api/1.4/', '/api/1.4', '/api/', '/api'])('serves the v1.4 API at %s', async (path) => {
    const response = await fetch(`${base}${path}?results=2&seed=s&page=1`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { results: unknown[]; info: { version: string } };
    expect(body.results).toHaveLength(2);
    expect(body.info.version).toBe('1.4');
  });

  it('serves the pinned version the fetch client asks for', async () => {
    const fetchPage = randomuserSource({
      RANDOMUSER_BASE_URL: base,
      FETCH_TIMEOUT_MS: 5000,
      FETCH_MAX_ATTEMPTS: 1,
    });
    const { users, rejected } = await fetchPage({ seed: 's', nats: ['GB'], page: 1, results: 3 });
    expect(users).toHaveLength(3);
    expect(rejected).toEqual([]);
  });

  it('degrades a page as the real API does when told to: no results, info counting what was asked', async () => {
    expect((await fault('short')).status).toBe(201);
    const body = (await (await fetch(`${base}/api/1.4/?results=5&seed=s`)).json()) as {
      results: unknown[];
      info: { results: number };
    };
    expect(body.results).toEqual([]);
    expect(body.info.results).toBe(5);
  });
});
