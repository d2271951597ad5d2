import { afterEach, describe, expect, it, vi } from 'vitest';
import { randomuserSource, splitResults } from '#functions/fetch/source.ts';
import { ConfigError, outcomeOf, UpstreamError } from '#lib/errors.ts';
import { apiResponse, numericPostcodeUser } from '#tests/fixtures/randomuser.ts';

const SECRET_FIELDS = ['password', 'salt', 'md5', 'sha1', 'sha256'];

describe('splitResults', () => {
  it('accepts real users with every quirk: numeric and string postcodes, null ids, non-Latin names', () => {
    const { users, rejected } = splitResults(apiResponse.results);
    expect(rejected).toEqual([]);
    expect(users.map((u) => u.index)).toEqual([0, 1, 2, 3]);
    expect(users.map((u) => u.user.location.postcode)).toEqual([74103, 'BA1 5LR', 81465, 79000]);
    expect(users[2]?.user.id).toEqual({ name: '', value: null });
    expect(users[3]?.user.name.first).toBe('Оксана');
  });

  it('drops password, salt and every hash before anything else sees the user', () => {
    const { users } = splitResults(apiResponse.results);
    for (const { user } of users) {
      expect(Object.keys(user.login).sort()).toEqual(['username', 'uuid']);
      expect(JSON.stringify(user)).not.toMatch(new RegExp(SECRET_FIELDS.map((f) => `"${f}"`).join('|')));
    }
  });

  it('rejects values PostgreSQL could not store: a latitude off the globe, year 0, a NUL character', () => {
    const offGlobe = {
      ...numericPostcodeUser,
      location: {
        ...numericPostcodeUser.location,
        coordinates: { latitude: '123.4567', longitude: '0.0000' },
      },
    };
    const yearZero = { ...numericPostcodeUser, dob: { date: '0000-01-01T00:00:00.000Z', age: 2026 } };
    const nul = { ...numericPostcodeUser, phone: '555\u00000143' };
    const { users, rejected } = splitResults([offGlobe, yearZero, nul]);
    expect(users).toEqual([]);
    expect(rejected.map((r) => r.reason.split(':')[0])).toEqual([
      'location.coordinates.latitude',
      'dob.date',
      'phone',
    ]);
  });

  it('reports an invalid user with its index and a reason that names fields, not values', () => {
    const broken = { ...numericPostcodeUser, email: 7, dob: { date: 'yesterday', age: 3 } };
    const { users, rejected } = splitResults([numericPostcodeUser, broken, 'not a user']);
    expect(users.map((u) => u.index)).toEqual([0]);
    expect(rejected).toHaveLength(2);
    expect(rejected[0]?.index).toBe(1);
    expect(rejected[0]?.reason).toMatch(/^email: .*; dob\.date: /);
    expect(rejected[0]?.reason).not.toContain('yesterday');
    expect(rejected[1]).toMatchObject({ index: 2, reason: expect.stringMatching(/^\(user\): /) as unknown });
  });
});

describe('randomuserSource', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('stops retrying a failing page as soon as its deadline passes, mid-backoff', async () => {
    let calls = 0;
    vi.stubGlobal('fetch', () => {
      calls++;
      return Promise.resolve(new Response('busy', { status: 503 }));
    });
    // Twenty attempts 10 s apart would take minutes; the deadline ends it after the first.
    const fetchPage = randomuserSource(
      { RANDOMUSER_BASE_URL: 'http://randomuser.test', FETCH_TIMEOUT_MS: 15_000, FETCH_MAX_ATTEMPTS: 20 },
      { minBackoffMs: 10_000, maxBackoffMs: 10_000 },
    );
    const started = Date.now();
    await expect(
      fetchPage({ seed: 's', nats: [], page: 1, results: 10, signal: AbortSignal.timeout(50) }),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(calls).toBe(1);
  });

  /** A source that answers `answers` in turn (the last one again), recording the URLs it was asked. */
  function answering(...answers: (() => Response)[]) {
    const urls: string[] = [];
    vi.stubGlobal('fetch', (url: URL) => {
      urls.push(String(url));
      const answer = answers[Math.min(urls.length - 1, answers.length - 1)];
      return Promise.resolve(answer?.() ?? new Response('', { status: 500 }));
    });
    return urls;
  }
  const json =
    (body: unknown, status = 200) =>
    () =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  const source = (base = 'http://randomuser.test', attempts = 3) =>
    randomuserSource(
      { RANDOMUSER_BASE_URL: base, FETCH_TIMEOUT_MS: 1000, FETCH_MAX_ATTEMPTS: attempts },
      { minBackoffMs: 1, maxBackoffMs: 1 },
    );
  const page = { seed: 's', nats: ['GB', 'FR'], page: 3, results: 4 };

  it('asks API v1.4 under the base URL, its own path kept', async () => {
    const urls = answering(json(apiResponse));
    await source('http://host:3100/mirror')(page);
    await source('http://host:3100/mirror/')(page);
    await source('http://randomuser.test')(page);
    expect(urls).toEqual([
      'http://host:3100/mirror/api/1.4/?results=4&seed=s&page=3&nat=GB%2CFR',
      'http://host:3100/mirror/api/1.4/?results=4&seed=s&page=3&nat=GB%2CFR',
      'http://randomuser.test/api/1.4/?results=4&seed=s&page=3&nat=GB%2CFR',
    ]);
  });

  it.each([
    [
      'no results though info counts one',
      { results: [], info: { seed: 's', results: 1, page: 3, version: '1.4' } },
    ],
    ['fewer results than asked', { ...apiResponse, results: apiResponse.results.slice(0, 1) }],
  ])('retries a degraded page (%s), then fails saying how many were asked and came back', async (_, body) => {
    const urls = answering(json(body));
    const failure = source()(page);
    await expect(failure).rejects.toThrow(UpstreamError);
    await expect(failure).rejects.toThrow(`answered ${body.results.length} of the 4 users asked for page 3`);
    expect(urls).toHaveLength(3);
    expect(outcomeOf(await failure.catch((error: unknown) => error)).statusCode).toBe(502);
  });

  it('lands a page that was short at first once a retry brings every user', async () => {
    answering(json({ ...apiResponse, results: [] }), json(apiResponse));
    await expect(source()(page)).resolves.toMatchObject({ users: { length: 4 }, rejected: [] });
  });

  it("carries the upstream's own error text, one line and truncated, with the HTTP status", async () => {
    answering(json({ error: 'Uh oh, something\nhas gone wrong.' }, 503));
    const error = await source()(page).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).upstreamStatus).toBe(503);
    expect((error as Error).message).toContain('(last: answered 503: Uh oh, something has gone wrong.)');

    answering(json({ error: 'x'.repeat(5000) }, 400));
    const refused = (await source()(page).catch((e: unknown) => e)) as Error;
    expect(refused.message).toBe(`randomuser answered 400: ${'x'.repeat(200)}…`);
  });

  it('reports a 404 as our misconfiguration, naming the path, without retrying', async () => {
    const urls = answering(json({ error: 'no route GET /mirror/api/1.4/' }, 404));
    const failure = (await source('http://host:3100/mirror')(page).catch((e: unknown) => e)) as Error;
    expect(failure).toBeInstanceOf(ConfigError);
    expect(failure.message).toContain('404 for /mirror/api/1.4/');
    expect(urls).toHaveLength(1);
    expect(outcomeOf(failure)).toEqual({
      statusCode: 500,
      body: { error: 'config', message: 'the function is misconfigured; see the logs' },
    });
  });
});
