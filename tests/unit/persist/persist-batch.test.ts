import { describe, expect, it } from 'vitest';
import { persistBatch, PersistRequest } from '#functions/persist/persist-batch.ts';
import type { UserRow } from '#functions/persist/normalize.ts';
import { BadRequestError, NotFoundError, UnprocessableError } from '#lib/errors.ts';
import { parseBody } from '#lib/http.ts';
import { INVALID_JSON } from '#lib/raw-store.ts';
import { fixtureBatch } from '#tests/support/batches.ts';

const KEY = 'raw/date=2026-11-22/batch=0123456789abcdef0123456789abcdef.json';

function deps(document: unknown) {
  const writes: (readonly UserRow[])[] = [];
  return {
    writes,
    store: { get: () => Promise.resolve(document) },
    writeUsers: (rows: Iterable<UserRow>) => {
      const all = [...rows];
      writes.push(all);
      return Promise.resolve({ inserted: all.length, updated: 0, unchanged: 0, queued: all.length });
    },
  };
}

describe('persistBatch', () => {
  it('writes the batch users and reports the counts', async () => {
    const d = deps(fixtureBatch());
    expect(await persistBatch({ key: KEY }, d)).toEqual({
      key: KEY,
      batchId: '0123456789abcdef0123456789abcdef',
      users: 4,
      inserted: 4,
      updated: 0,
      unchanged: 0,
      queued: 4,
    });
    expect(d.writes[0]).toHaveLength(4);
  });

  it('answers not found for an unknown key', async () => {
    await expect(persistBatch({ key: KEY }, deps(undefined))).rejects.toThrow(
      new NotFoundError(`no batch at ${KEY}`),
    );
  });

  it('refuses an object that is not JSON, or not a batch, and writes nothing', async () => {
    const notJson = deps(INVALID_JSON);
    await expect(persistBatch({ key: KEY }, notJson)).rejects.toThrow(UnprocessableError);
    const notBatch = deps({ results: [] });
    await expect(persistBatch({ key: KEY }, notBatch)).rejects.toThrow(/is not a raw batch \(format: /);
    const withSecrets = fixtureBatch();
    const leaked = deps({
      ...withSecrets,
      users: withSecrets.users.map((u) => ({
        ...u,
        user: { ...u.user, login: { ...u.user.login, password: 'x' } },
      })),
    });
    await expect(persistBatch({ key: KEY }, leaked)).rejects.toThrow(
      /users\.0\.user\.login: Unrecognized key: "password"/,
    );
    const twice = fixtureBatch();
    const duplicated = deps({ ...twice, users: [...twice.users, ...twice.users.slice(0, 1)] });
    await expect(persistBatch({ key: KEY }, duplicated)).rejects.toThrow(
      /each \(page, index\) must appear once/,
    );
    expect([...notJson.writes, ...notBatch.writes, ...leaked.writes, ...duplicated.writes]).toEqual([]);
  });

  it.each([
    ['raw/../secrets/x.json', /key must not have a \. or \.\. segment/],
    ['raw/date=2026-11-22/../../batch=x.json', /key must not have a \. or \.\. segment/],
    ['raw/./batch=x.json', /key must not have a \. or \.\. segment/],
    ['raw//batch=x.json', /key must not have an empty segment/],
    ['raw/date=2026-11-22//batch=x.json', /key must not have an empty segment/],
    ['raw/batch=x\u0000.json', /key must be a raw-zone key/],
    ['raw/batch=x\n.json', /key must be a raw-zone key/],
    ['raw/batch=x\u007f.json', /key must be a raw-zone key/],
  ])('refuses the key %j with a 400 that says why', (key, message) => {
    const body = JSON.stringify({ key });
    expect(() => parseBody(PersistRequest, body, 'application/json')).toThrow(BadRequestError);
    expect(() => parseBody(PersistRequest, body, 'application/json')).toThrow(message);
  });

  it('takes a key fetch wrote, with its dots in names', () => {
    const body = JSON.stringify({ key: 'raw/date=2026-11-22/batch=a.b..c.json' });
    expect(parseBody(PersistRequest, body, 'application/json')).toEqual({
      key: 'raw/date=2026-11-22/batch=a.b..c.json',
    });
  });

  it('takes only raw-zone keys', () => {
    expect(() => parseBody(PersistRequest, '{"key": "../etc/passwd"}', 'application/json')).toThrow(
      BadRequestError,
    );
    expect(() => parseBody(PersistRequest, `{"key": "${KEY}", "force": true}`, 'application/json')).toThrow(
      /Unrecognized key: "force"/,
    );
  });
});
