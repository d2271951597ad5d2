import { afterAll, describe, expect, it } from 'vitest';
import { up } from '#infra/stack/stack.ts';
import { roundTripThroughAws } from '../support/aws-round-trip.ts';
import { stackCli as stack } from '../support/stack-cli.ts';

describe('the moto fallback, for machines without Python 3.13', () => {
  afterAll(async () => {
    // Back to the default emulator for the tests that follow.
    const stopped = stack(['down', 'aws']);
    if (stopped.status !== 0) throw new Error(`stack down aws failed: ${stopped.stderr}`);
    await up(['aws']);
  });

  it('serves S3, SQS, SSM and Secrets Manager on the same port, and status says which runs and why', async () => {
    expect(stack(['down', 'aws']).status).toBe(0);
    const started = stack(['up', 'aws'], { STACK_AWS_EMULATOR: 'moto' });
    expect(started.status, started.stderr).toBe(0);
    expect(started.stdout).toMatch(
      /^aws\s+4566\s+\d+\s+healthy\s+\d+ MB\s+moto \S+: STACK_AWS_EMULATOR=moto$/m,
    );
    await roundTripThroughAws();
  });
});
