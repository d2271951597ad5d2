import { afterEach, describe, expect, it, vi } from 'vitest';
import { randomuserSource, splitResults } from '#functions/fetch/source.ts';
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
});
