import cassandraDriver from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { TransientError } from '#lib/errors.ts';
import type { UserEvent } from '#lib/user-event.ts';
import { isCapacityRefusal, writeUsers, type CapacityRetry } from '#functions/sink/user-table.ts';
import { sinkBatch } from '#functions/sink/sink-batch.ts';
import { mskEvent, userEvent, userEventRecord, userEventType } from '#tests/fixtures/kafka-events.ts';

const { ResponseError, NoHostAvailableError } = cassandraDriver.errors;
const codes = cassandraDriver.types.responseErrorCodes;

/** What Keyspaces answers a write it has no capacity for: Cassandra's own codes (its troubleshooting guide). */
const writeTimeout = () =>
  new ResponseError(codes.writeTimeout, 'Operation timed out - received only 0 responses.');
const writeFailure = () =>
  new ResponseError(codes.writeFailure, 'Operation failed - received 0 responses and 1 failures');

/**
 * A session whose writes Keyspaces refuses as `refusals` says: for each user key, the errors its
 * first attempts get. Records every attempt and every write that landed.
 */
function keyspacesSession(refusals = new Map<string, Error[]>()) {
  const attempts: string[] = [];
  const landed: string[] = [];
  const client = {
    execute: (_query: string, params: unknown[]) => {
      const key = String(params[0]);
      attempts.push(key);
      const refusal = refusals.get(key)?.shift();
      if (refusal !== undefined) return Promise.reject(refusal);
      landed.push(key);
      return Promise.resolve();
    },
  } as unknown as cassandraDriver.Client;
  return { client, attempts, landed };
}

/** Backoff that records its delays and does not wait. */
function recordingRetry(overrides: Partial<CapacityRetry> = {}) {
  const delays: number[] = [];
  const retry: CapacityRetry = {
    retries: 4,
    baseMs: 100,
    maxMs: 1000,
    random: () => 1,
    sleep: (ms) => {
      delays.push(ms);
      return Promise.resolve();
    },
    ...overrides,
  };
  return { retry, delays };
}

const users = (count: number): UserEvent[] =>
  Array.from({ length: count }, (_, i) =>
    userEvent({ user_key: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` }),
  );

describe('writes Keyspaces refuses for capacity', () => {
  it('are recognised by the codes Keyspaces reports throttling with, and nothing else is', () => {
    expect(isCapacityRefusal(writeTimeout())).toBe(true);
    expect(isCapacityRefusal(writeFailure())).toBe(true);
    expect(isCapacityRefusal(new ResponseError(codes.overloaded, 'Overloaded'))).toBe(true);
    expect(isCapacityRefusal(new ResponseError(codes.serverError, 'Internal server error'))).toBe(true);
    expect(
      isCapacityRefusal(
        new NoHostAvailableError({ 'cassandra.eu-west-1.amazonaws.com:9142': writeTimeout() }),
      ),
    ).toBe(true);
    expect(isCapacityRefusal(new ResponseError(codes.invalid, 'USING TIMESTAMP is not allowed'))).toBe(false);
    expect(isCapacityRefusal(new ResponseError(codes.unauthorized, 'User has no MODIFY permission'))).toBe(
      false,
    );
    expect(isCapacityRefusal(new Error('socket hang up'))).toBe(false);
  });

  it('are retried with growing backoff until they land, and only the refused users are written again', async () => {
    const batch = users(20);
    const [first, second] = batch.map((u) => u.user_key);
    const refusals = new Map([
      [first ?? '', [writeTimeout(), writeTimeout(), writeFailure()]],
      [second ?? '', [writeTimeout()]],
    ]);
    const { client, attempts, landed } = keyspacesSession(refusals);
    const { retry, delays } = recordingRetry();
    await writeUsers(client, batch, 4, retry);
    expect([...landed].sort()).toEqual(batch.map((u) => u.user_key).sort());
    expect(attempts).toHaveLength(20 + 4);
    // Full jitter at its top (random = 1): the first user waited 100, 200, 400 ms, the second 100.
    expect([...delays].sort((a, b) => a - b)).toEqual([100, 100, 200, 400]);
  });

  it('reject as transient once the retries are spent, so the trigger retries the batch and dead-letters nothing', async () => {
    const batch = users(3);
    const always = new Map(batch.map((u) => [u.user_key, Array.from({ length: 10 }, writeTimeout)]));
    const { client } = keyspacesSession(always);
    const { retry, delays } = recordingRetry({ retries: 3 });
    const failure = await writeUsers(client, batch, 1, retry).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TransientError);
    expect((failure as Error).message).toMatch(/capacity/);
    expect(delays.slice(0, 3)).toEqual([100, 200, 400]);

    const letters: unknown[] = [];
    await expect(
      sinkBatch(mskEvent(batch.map((u, i) => userEventRecord(u, 7, i))), {
        schemaFor: () => Promise.resolve(userEventType),
        writeUsers: (events) => writeUsers(keyspacesSession(always).client, events, 1, retry),
        versionsOf: () => Promise.resolve(new Map()),
        deadLetter: (found) => {
          letters.push(...found);
          return Promise.resolve();
        },
      }),
    ).rejects.toBeInstanceOf(TransientError);
    expect(letters).toEqual([]);
  });

  it('leave other refusals to the trigger at once: retrying in the invocation would not help', async () => {
    const batch = users(5);
    const invalid = new ResponseError(codes.invalid, 'USING TIMESTAMP is not allowed');
    const { client, attempts } = keyspacesSession(new Map([[batch[0]?.user_key ?? '', [invalid]]]));
    const { retry, delays } = recordingRetry();
    await expect(writeUsers(client, batch, 1, retry)).rejects.toThrow('Cassandra did not accept the users');
    expect(attempts).toEqual([batch[0]?.user_key]);
    expect(delays).toEqual([]);
  });
});
