import type cassandraDriver from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { bootstrapAws, checkedCredentials, type AwsBootstrapSteps } from '#infra/aws/bootstrap.ts';

/** Steps that record when they run; `connectKeyspaces` as given. */
function recordingSteps(connectKeyspaces: AwsBootstrapSteps['connectKeyspaces']) {
  const ran: string[] = [];
  const step = (name: string) => () => {
    ran.push(name);
    return Promise.resolve();
  };
  const steps: AwsBootstrapSteps = {
    connectKeyspaces: async () => {
      ran.push('connectKeyspaces');
      return connectKeyspaces();
    },
    migratePostgres: step('migratePostgres'),
    migrateKeyspaces: step('migrateKeyspaces'),
    ensureTopic: step('ensureTopic'),
    registerSchema: step('registerSchema'),
  };
  return { ran, steps };
}

const fakeClient = (onShutdown: () => void = () => undefined) =>
  ({
    shutdown: () => {
      onShutdown();
      return Promise.resolve();
    },
  }) as unknown as cassandraDriver.Client;

describe('aws:bootstrap', () => {
  it('signs in to Keyspaces before the RDS migrations, then runs every step in order', async () => {
    const { ran, steps } = recordingSteps(() => Promise.resolve(fakeClient()));
    await bootstrapAws(steps);
    expect(ran).toEqual([
      'connectKeyspaces',
      'migratePostgres',
      'migrateKeyspaces',
      'ensureTopic',
      'registerSchema',
    ]);
  });

  it('stops on a credentials problem before anything has changed', async () => {
    const expired = new Error('The SSO session associated with this profile has expired');
    const { ran, steps } = recordingSteps(async () => {
      await checkedCredentials(() => Promise.reject(expired));
      return fakeClient();
    });
    await expect(bootstrapAws(steps)).rejects.toThrow(
      'no AWS credentials to sign in to Keyspaces with (The SSO session associated with this profile has expired)',
    );
    expect(ran).toEqual(['connectKeyspaces']);
  });

  it('closes the Keyspaces session when the RDS migrations fail', async () => {
    let closed = false;
    const { steps } = recordingSteps(() =>
      Promise.resolve(
        fakeClient(() => {
          closed = true;
        }),
      ),
    );
    await expect(
      bootstrapAws({ ...steps, migratePostgres: () => Promise.reject(new Error('connect ETIMEDOUT')) }),
    ).rejects.toThrow('connect ETIMEDOUT');
    expect(closed).toBe(true);
  });

  it('resolves credentials that need a round trip once, and hands on the same provider', async () => {
    let calls = 0;
    const provider = () =>
      new Promise<{ accessKeyId: string; secretAccessKey: string }>((resolve) => {
        calls++;
        setTimeout(() => {
          resolve({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret' });
        }, 10);
      });
    expect(await checkedCredentials(provider)).toBe(provider);
    expect(calls).toBe(1);
  });
});
