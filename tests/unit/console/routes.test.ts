import { describe, expect, it, vi } from 'vitest';
import { routeApi, type ApiRequest, type ConsoleApi } from '#functions/console/routes.ts';
import { maskEmail, maskPhone } from '#functions/console/trace.ts';

function fakeApi(): ConsoleApi & Record<string, ReturnType<typeof vi.fn>> {
  const answer = (name: string) => vi.fn((...args: unknown[]) => Promise.resolve({ name, args }));
  return {
    snapshot: answer('snapshot'),
    deadLetters: answer('deadLetters'),
    replay: answer('replay'),
    schemas: answer('schemas'),
    schemaVersion: answer('schemaVersion'),
    airflowRuns: answer('airflowRuns'),
    triggerRun: answer('triggerRun'),
    trace: answer('trace'),
  } as never;
}

const request = (
  method: string,
  path: string,
  query: ApiRequest['query'] = {},
  body: string | null = null,
  contentType: string | undefined = body === null ? undefined : 'application/json',
): ApiRequest => ({
  method,
  path,
  query,
  body,
  contentType,
});

describe('the console API routes', () => {
  it('sends each endpoint to its reader with its parsed arguments', async () => {
    const api = fakeApi();
    expect(await routeApi(request('GET', 'snapshot'), api)).toEqual({ name: 'snapshot', args: [] });
    expect(await routeApi(request('GET', 'dead-letters', { limit: '20' }), api)).toEqual({
      name: 'deadLetters',
      args: [20],
    });
    expect(await routeApi(request('GET', 'dead-letters'), api)).toEqual({ name: 'deadLetters', args: [50] });
    expect(
      await routeApi(request('POST', 'dead-letters/replay', {}, '{"reason":"unknown schema id 42"}'), api),
    ).toEqual({
      name: 'replay',
      args: ['unknown schema id 42'],
    });
    expect(await routeApi(request('GET', 'schemas/user-pipeline.users-value/versions/2'), api)).toEqual({
      name: 'schemaVersion',
      args: ['user-pipeline.users-value', 2],
    });
    expect(
      await routeApi(request('POST', 'airflow/runs', {}, '{"count":5,"seed":"s","nat":null}'), api),
    ).toEqual({
      name: 'triggerRun',
      args: [{ count: 5, seed: 's', nat: null }],
    });
    const key = '0D9E1C52-7F43-5A7B-8C2E-3B1F6A9D4E21';
    expect(await routeApi(request('GET', `trace/${key}`, { reveal: '1' }), api)).toEqual({
      name: 'trace',
      args: [key.toLowerCase(), true],
    });
  });

  it.each([
    [request('POST', 'snapshot'), /POST is not allowed on snapshot: use GET/],
    [request('GET', 'dead-letters', { limit: '0' }), /limit must be a whole number from 1 to 500/],
    [request('GET', 'dead-letters', { limit: '1.5' }), /limit/],
    [request('POST', 'dead-letters/replay', {}, '{}'), /reason/],
    [request('POST', 'dead-letters/replay', {}, 'nope'), /the body is not valid JSON: /],
    [request('POST', 'dead-letters/replay'), /the body is empty: send a JSON object such as \{"reason": …\}/],
    [request('POST', 'airflow/runs', {}, '{"count":1,"extra":1}'), /extra/],
    [request('GET', 'schemas/s/versions/0'), /whole number from 1/],
    [request('GET', 'schemas/%2E%2E/versions/1'), /not a subject name/],
    [request('GET', 'schemas/a%2Fb/versions/1'), /not a subject name/],
    // The registry answers a control character in a subject with a 500, which would become a 502.
    [request('GET', 'schemas/a%00b/versions/1'), /not a subject name: "a\\u0000b"/],
    [request('GET', 'schemas/a%1Bb/versions/1'), /not a subject name/],
    [request('GET', 'schemas/a%7Fb/versions/1'), /not a subject name/],
    [request('GET', 'trace/x'), /UUID/],
  ])('refuses %o with a 400 that says why', async (bad, message) => {
    await expect(routeApi(bad, fakeApi())).rejects.toMatchObject({
      kind: 'bad-request',
      message: expect.stringMatching(message) as unknown,
    });
  });

  it('refuses a body not sent as application/json with a 415, and GETs need no content type', async () => {
    const api = fakeApi();
    await expect(
      routeApi(request('POST', 'dead-letters/replay', {}, '{"reason":"r"}', 'text/plain'), api),
    ).rejects.toMatchObject({
      kind: 'unsupported-media-type',
      message: 'the body must be JSON sent with Content-Type: application/json, not Content-Type text/plain',
    });
    expect(api.replay).not.toHaveBeenCalled();
    expect(await routeApi(request('GET', 'schemas'), api)).toEqual({ name: 'schemas', args: [] });
  });

  it('answers an unknown endpoint with a 404 naming it', async () => {
    await expect(routeApi(request('GET', 'trace/../../etc'), fakeApi())).rejects.toMatchObject({
      kind: 'not-found',
    });
    await expect(routeApi(request('GET', 'nowhere'), fakeApi())).rejects.toMatchObject({
      kind: 'not-found',
      message: 'no console endpoint GET /console/api/nowhere',
    });
  });
});

describe('masking in a trace', () => {
  it('hides all of an e-mail address but its first letter and domain', () => {
    expect(maskEmail('jane.doe@example.com')).toBe('j•••@example.com');
    expect(maskEmail('broken')).toBe('•••');
  });

  it('hides every digit of a phone number but the last two, keeping its punctuation', () => {
    expect(maskPhone('(555) 123-4567')).toBe('(•••) •••-••67');
    expect(maskPhone('7')).toBe('7');
  });
});
