import { describe, expect, it } from 'vitest';
import { NATIONALITIES } from '#infra/randomuser/datasets.ts';
import { generate, parseQuery, type Query } from '#infra/randomuser/generator.ts';

const NOW = Date.UTC(2026, 10, 22);
const fixedSeed = (): string => 'f00dfeedf00dfeed';
const respond = (query: Query): Record<string, unknown> => generate(parseQuery(query, fixedSeed), NOW);
const results = (query: Query): Record<string, unknown>[] =>
  respond(query)['results'] as Record<string, unknown>[];

describe('parseQuery: the real API coercion rules', () => {
  it.each([
    ['10', 10],
    ['5000', 5000],
    ['0', 0],
    ['5001', 1],
    ['-3', 1],
    ['many', 1],
    [undefined, 1],
  ])('results=%s gives %s users', (raw, count) => {
    expect(parseQuery({ results: raw }, fixedSeed).results).toBe(count);
  });

  it.each([
    ['3', 3],
    ['0', 1],
    ['-1', 1],
    ['10001', 1],
    ['abc', 1],
  ])('page=%s becomes %s', (raw, page) => {
    expect(parseQuery({ page: raw }, fixedSeed).page).toBe(page);
  });

  it('takes nationalities case-insensitively, and all of them when any is unknown', () => {
    expect(parseQuery({ nat: 'gb,Ir' }, fixedSeed).nats).toEqual(['GB', 'IR']);
    expect(parseQuery({ nat: 'gb,XX' }, fixedSeed).nats).toEqual(NATIONALITIES);
  });

  it('picks a seed when none is given, and ignores gender when one is', () => {
    expect(parseQuery({}, fixedSeed).seed).toBe('f00dfeedf00dfeed');
    expect(parseQuery({ seed: 'abc', gender: 'female' }, fixedSeed).gender).toBeUndefined();
    expect(parseQuery({ gender: 'female' }, fixedSeed).gender).toBe('female');
  });
});

describe('generate', () => {
  it('answers in the v1.4 shape, with info echoing seed, results and page', () => {
    const body = respond({ results: '3', seed: 'abc', page: '2' });
    expect(body['info']).toEqual({ seed: 'abc', results: 3, page: 2, version: '1.4' });
    expect(results({ results: '3', seed: 'abc', page: '2' })).toHaveLength(3);
  });

  it('is deterministic for a seed and page, and the first users do not depend on how many are asked', () => {
    const ten = results({ results: '10', seed: 'replay' });
    expect(results({ results: '10', seed: 'replay' })).toEqual(ten);
    expect(results({ results: '4', seed: 'replay' })).toEqual(ten.slice(0, 4));
    expect(results({ results: '10', seed: 'replay', page: '2' })).not.toEqual(ten);
  });

  it('keeps every login secret field, as the real API does', () => {
    const [user] = results({ results: '1', seed: 's' });
    expect(Object.keys(user?.['login'] as object).sort()).toEqual(
      ['md5', 'password', 'salt', 'sha1', 'sha256', 'username', 'uuid'].sort(),
    );
  });

  it('gives a numeric postcode for most nationalities and a string for GB, CA and NL', () => {
    const postcode = (nat: string): unknown =>
      (results({ results: '1', seed: 'p', nat })[0]?.['location'] as { postcode: unknown }).postcode;
    expect(typeof postcode('US')).toBe('number');
    expect(typeof postcode('DE')).toBe('number');
    expect(postcode('GB')).toMatch(/^[A-Z]{2}\d \d[A-Z]{2}$/);
    expect(postcode('CA')).toMatch(/^[A-Z]\d[A-Z] \d[A-Z]\d$/);
    expect(postcode('NL')).toMatch(/^\d{4} [A-Z]{2}$/);
  });

  it('gives coordinates and timezone offsets as strings', () => {
    const location = results({ results: '1', seed: 'c' })[0]?.['location'] as {
      coordinates: Record<string, unknown>;
      timezone: Record<string, unknown>;
    };
    expect(location.coordinates['latitude']).toMatch(/^-?\d+\.\d{4}$/);
    expect(location.coordinates['longitude']).toMatch(/^-?\d+\.\d{4}$/);
    expect(location.timezone['offset']).toMatch(/^[+-]?\d{1,2}:\d{2}$/);
  });

  it('writes IR, UA and RS names in their own scripts, with a Latin e-mail, and gives some ids no value', () => {
    for (const [nat, script] of [
      ['IR', /\p{Script=Arabic}/u],
      ['UA', /\p{Script=Cyrillic}/u],
      ['RS', /\p{Script=Cyrillic}/u],
    ] as const) {
      const [user] = results({ results: '1', seed: 'n', nat });
      expect((user?.['name'] as { first: string }).first, nat).toMatch(script);
      expect(user?.['email'], nat).toMatch(/^[a-z.-]+@example\.com$/);
    }
    expect(results({ results: '1', seed: 'n', nat: 'IR' })[0]?.['id']).toEqual({ name: '', value: null });
  });

  it('honours inc, exc and noinfo', () => {
    expect(Object.keys(results({ results: '1', inc: 'name,email,nat', exc: 'nat' })[0] ?? {})).toEqual([
      'name',
      'email',
    ]);
    expect(respond({ results: '1', noinfo: '' })).not.toHaveProperty('info');
  });
});
