import { describe, expect, it } from 'vitest';
import { lazy } from '#lib/once.ts';

/** A promise and the functions that settle it, so a test decides when a creation finishes. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A client the tests can tell apart: the creation that made it, and the arguments it was made from. */
interface Client {
  readonly serial: number;
  readonly url: string;
}

describe('lazy: one client per container', () => {
  it('shares one creation between concurrent first callers', async () => {
    const pending = deferred<Client>();
    const createdFrom: string[] = [];
    const client = lazy((url: string) => {
      createdFrom.push(url);
      return pending.promise;
    });

    const first = client('postgres://a');
    const second = client('postgres://b');
    pending.resolve({ serial: 1, url: 'postgres://a' });

    expect(await Promise.all([first, second])).toEqual([
      { serial: 1, url: 'postgres://a' },
      { serial: 1, url: 'postgres://a' },
    ]);
    expect(await first).toBe(await second);
    expect(createdFrom).toEqual(['postgres://a']);
  });

  it('reuses a value that resolved, across later calls, whatever their arguments', async () => {
    let serial = 0;
    const client = lazy((url: string): Promise<Client> => Promise.resolve({ serial: ++serial, url }));

    const created = await client('postgres://first');
    expect(await client('postgres://second')).toBe(created);
    expect(created).toEqual({ serial: 1, url: 'postgres://first' });
  });

  it('forgets a rejected creation, so the next call creates again', async () => {
    let serial = 0;
    const client = lazy((url: string): Promise<Client> => {
      serial++;
      return serial === 1 ? Promise.reject(new Error('ECONNREFUSED')) : Promise.resolve({ serial, url });
    });

    await expect(client('kafka://x')).rejects.toThrow('ECONNREFUSED');
    expect(await client('kafka://y')).toEqual({ serial: 2, url: 'kafka://y' });
    expect(await client('kafka://z')).toEqual({ serial: 2, url: 'kafka://y' });
  });

  it('forgets a creation that throws, for a client made synchronously', () => {
    let serial = 0;
    const client = lazy((url: string): Client => {
      serial++;
      if (serial === 1) throw new Error('bad endpoint');
      return { serial, url };
    });

    expect(() => client('s3://a')).toThrow('bad endpoint');
    const created = client('s3://b');
    expect(created).toEqual({ serial: 2, url: 's3://b' });
    expect(client('s3://c')).toBe(created);
  });

  it('reset forgets the value and returns it, so the next call creates a new one', async () => {
    let serial = 0;
    const client = lazy((url: string): Promise<Client> => Promise.resolve({ serial: ++serial, url }));

    const first = await client('kafka://a');
    expect(await client.reset()).toBe(first);
    const second = await client('kafka://b');
    expect(second).toEqual({ serial: 2, url: 'kafka://b' });
    expect(await client('kafka://c')).toBe(second);
    expect(lazy(() => 1).reset()).toBeUndefined();
  });

  it('keeps a new value when a creation forgotten by reset rejects afterwards', async () => {
    const pending = [deferred<Client>(), deferred<Client>()];
    let calls = 0;
    const client = lazy(() => {
      const next = pending[calls++];
      if (next === undefined) throw new Error('a third creation');
      return next.promise;
    });

    const forgotten = client();
    expect(client.reset()).toBe(forgotten);
    const kept = client();
    pending[1]?.resolve({ serial: 2, url: 'kafka://b' });
    pending[0]?.reject(new Error('the old producer failed to connect'));
    await expect(forgotten).rejects.toThrow('the old producer failed to connect');

    expect(await client()).toEqual({ serial: 2, url: 'kafka://b' });
    expect(client()).toBe(kept);
    expect(calls).toBe(2);
  });
});
