import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { DeleteQueueCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { afterAll, describe, expect, it } from 'vitest';
import { endpoints } from '#infra/stack/endpoints.ts';
import { PrerequisiteError } from '#infra/stack/lib/errors.ts';
import { isPortOpen } from '#infra/stack/lib/net.ts';
import { servicesDir } from '#infra/stack/lib/paths.ts';
import { processesRunningIn } from '#infra/stack/lib/process.ts';
import { pipelineServiceNames, services } from '#infra/stack/services/index.ts';
import { down, status, up } from '#infra/stack/stack.ts';
import { localResources } from '#infra/stack/local-stage/resources.ts';
import { awsClients, unique } from '../support/clients.ts';
import { stackCli } from '../support/stack-cli.ts';

const pidsByService = async (): Promise<Record<string, number | undefined>> =>
  Object.fromEntries((await status()).map((s) => [s.name, s.pid]));

/** This file brings up every service, Airflow and Spark included; the suites after it need only the pipeline's. */
afterAll(async () => {
  await down(services.map((s) => s.name).filter((name) => !pipelineServiceNames.includes(name)));
});

describe('stack lifecycle', () => {
  it('up twice is a no-op: same processes, each reported as already running; the bootstrap finds all made', async () => {
    await up();
    const before = await pidsByService();
    const lines: string[] = [];
    await up([], (line) => lines.push(line));
    expect(await pidsByService()).toEqual(before);
    const processes = services.filter((s) => s.kind === 'process').map((s) => s.name);
    const processLines = lines.filter((line) => processes.includes(line.split(' ')[0] ?? ''));
    expect(processLines.filter((line) => !line.includes('already running'))).toEqual([]);
    expect(processLines).toHaveLength(processes.length);
    const bootstrapLines = lines.filter((line) => line.startsWith('bootstrap '));
    expect(bootstrapLines).toContain('bootstrap  migrations: up to date');
    expect(bootstrapLines).toContain('bootstrap  cassandra migrations: up to date');
    expect(bootstrapLines.filter((line) => /created|applied|grew/.test(line))).toEqual([]);
    expect(bootstrapLines.at(-1)).toMatch(/^bootstrap {2}ready in \d+\.\d s$/);
  });

  it('status gives each service its ports, pid, health and memory', async () => {
    const rows = await status();
    expect(rows.map((r) => r.name)).toEqual(services.map((s) => s.name));
    for (const row of rows.filter((r) => r.kind === 'process')) {
      expect(row.healthy, row.name).toBe(true);
      expect(row.pid, row.name).toBeGreaterThan(1);
      expect(row.memoryBytes, row.name).toBeGreaterThan(10 * 1024 * 1024);
      // The DAG processor is the one service that serves nothing: it only parses DAGs.
      expect(row.ports.length > 0 || row.name === 'airflow-dag-processor', row.name).toBe(true);
    }
    expect(rows.find((r) => r.name === 'aws')?.detail).toMatch(/^(localstack 4\.14\.0|moto \S+): /);
    expect(rows.find((r) => r.name === 'bootstrap')).toMatchObject({
      kind: 'task',
      pid: undefined,
      healthy: true,
      detail: 'the local stage is ready',
    });
  });

  it('status names what the local stage lacks, and up puts it back', async () => {
    const { sqs } = awsClients();
    const { QueueUrl } = await sqs.send(
      new GetQueueUrlCommand({ QueueName: localResources.deadLetterQueue }),
    );
    await sqs.send(new DeleteQueueCommand({ QueueUrl }));
    const shown = stackCli(['status']);
    expect(shown.status).toBe(3);
    expect(shown.stdout).toMatch(
      new RegExp(
        `^bootstrap\\s+-\\s+-\\s+NOT READY\\s+-\\s+missing: queue ${localResources.deadLetterQueue}$`,
        'm',
      ),
    );
    await up(['bootstrap']);
    await expect(
      sqs.send(new GetQueueUrlCommand({ QueueName: localResources.deadLetterQueue })),
    ).resolves.toMatchObject({ QueueUrl });
  });

  it('`stack up aws` after the AWS emulator restarts puts back the bucket, the secret and the queues it forgot', async () => {
    expect(stackCli(['down', 'aws']).status).toBe(0);
    const started = stackCli(['up', 'aws']);
    expect(started.status, started.stderr).toBe(0);
    expect(started.stdout).toMatch(/^bootstrap {2}ready in /m);
    const { s3, secrets, sqs } = awsClients();
    await expect(s3.send(new HeadBucketCommand({ Bucket: localResources.rawBucket }))).resolves.toBeDefined();
    await expect(
      secrets.send(new DescribeSecretCommand({ SecretId: localResources.dbSecretId })),
    ).resolves.toMatchObject({ Name: localResources.dbSecretId });
    for (const queue of [localResources.deadLetterQueue, localResources.failedBatchesQueue]) {
      await expect(sqs.send(new GetQueueUrlCommand({ QueueName: queue }))).resolves.toBeDefined();
    }
  });

  it('keeps registered schemas, with their ids, across a registry restart', async () => {
    const registry = new SchemaRegistry({ host: endpoints.registry.url });
    const subject = `${unique('lifecycle')}-value`;
    const schema = JSON.stringify({ type: 'record', name: 'Kept', fields: [{ name: 'id', type: 'string' }] });
    const { id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject });

    await down(['registry']);
    expect(await isPortOpen(endpoints.registry.port)).toBe(false);
    await up(['registry']);

    const fresh = new SchemaRegistry({ host: endpoints.registry.url });
    expect(await fresh.getLatestSchemaId(subject)).toBe(id);
    expect(JSON.parse(await fresh.getSchema(id).then((s) => JSON.stringify(s)))).toMatchObject({
      name: 'Kept',
    });
  });

  it('refuses to start a service whose port another process holds, naming that process', async () => {
    await down(['aws']);
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(endpoints.aws.port, '127.0.0.1', resolve));
    try {
      const attempt = up(['aws']);
      await expect(attempt).rejects.toThrow(PrerequisiteError);
      await expect(attempt).rejects.toThrow(
        new RegExp(`^port ${endpoints.aws.port}, which aws needs, is taken by pid ${process.pid} \\(`),
      );
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    await up(['aws']);
    expect((await status()).find((s) => s.name === 'aws')?.healthy).toBe(true);
  });

  it('down leaves none of our processes and no open port; up brings it all back', async () => {
    await down();
    expect(await processesRunningIn(servicesDir)).toEqual([]);
    for (const port of services.flatMap((s) => s.ports))
      expect(await isPortOpen(port), `port ${port}`).toBe(false);
    expect((await status()).map((s) => s.pid)).toEqual(services.map(() => undefined));

    await up(services.map((s) => s.name));
    expect((await status()).every((s) => s.healthy)).toBe(true);
  });
});

describe('network exposure', () => {
  it('every port our services listen on is bound to 127.0.0.1 only', async () => {
    const ours = new Set<number>();
    for (const pid of await processesRunningIn(servicesDir)) ours.add(pid);
    for (const row of await status()) if (row.pid !== undefined) ours.add(row.pid);
    const { stdout } = spawnSync('ss', ['-Hltnp'], { encoding: 'utf8' });
    const listening = stdout
      .split('\n')
      .map((line) => ({ local: line.split(/\s+/)[3] ?? '', pid: Number(/pid=(\d+)/.exec(line)?.[1] ?? 0) }))
      .filter((socket) => ours.has(socket.pid));
    expect(listening.length).toBeGreaterThanOrEqual(services.flatMap((s) => s.ports).length);
    expect(
      listening.filter((socket) => !/^(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]):\d+$/.test(socket.local)),
    ).toEqual([]);
  });
});
