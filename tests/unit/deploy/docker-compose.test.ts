import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { repoRoot } from '#infra/stack/lib/paths.ts';
import { services as nativeServices } from '#infra/stack/services/index.ts';

/** Runs Debian's docker-compose (1.29), which validates and normalises a file with no engine. */
function compose(args: string[], file = path.join(repoRoot, 'docker-compose.yml')) {
  const result = spawnSync('docker-compose', ['-f', file, ...args], { encoding: 'utf8', cwd: repoRoot });
  if (result.error)
    throw new Error('docker-compose is missing: `npm test` installs it', { cause: result.error });
  return result;
}

const Compose = z.object({
  services: z.record(
    z.string(),
    z.object({
      image: z.string(),
      network_mode: z.string().optional(),
      command: z.array(z.string()).default([]),
      environment: z.record(z.string(), z.union([z.string(), z.number()]).nullable()).default({}),
      ports: z.array(z.string()).default([]),
      healthcheck: z.object({ test: z.array(z.string()) }).optional(),
      depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
      volumes: z.array(z.string()).default([]),
    }),
  ),
  volumes: z.record(z.string(), z.unknown()).default({}),
});

const normalised = (): z.infer<typeof Compose> => {
  const result = compose(['config']);
  expect(result.stderr).toBe('');
  return Compose.parse(parse(result.stdout));
};

describe('docker-compose.yml', () => {
  it('passes docker-compose config -q', () => {
    const result = compose(['config', '-q']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('is rejected by the same check when broken, so the check can fail', () => {
    const broken = path.join(mkdtempSync(path.join(os.tmpdir(), 'compose-')), 'docker-compose.yml');
    const original = readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8');
    writeFileSync(broken, original.replace('condition: service_healthy', 'condition: when_it_feels_like_it'));
    expect(compose(['config', '-q'], broken).status).not.toBe(0);
  });

  it('pins every image to an exact version, LocalStack to 4.14.0', () => {
    const { services } = normalised();
    for (const [name, service] of Object.entries(services)) {
      // PostgreSQL numbers its releases major.minor (15.18); the others major.minor.patch.
      expect(service.image, name).toMatch(/:\d+\.\d+(\.\d+)?(-[a-z0-9.-]+)?$/);
    }
    expect(services['localstack']?.image).toBe('localstack/localstack:4.14.0');
  });

  it('runs no Zookeeper and says why', () => {
    expect(Object.keys(normalised().services).filter((n) => n.includes('zookeeper'))).toEqual([]);
    expect(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')).toMatch(
      /No Zookeeper: Kafka 4 removed it/,
    );
  });

  it('gives every service a health check and binds its ports to 127.0.0.1 only', () => {
    for (const [name, service] of Object.entries(normalised().services)) {
      expect(service.healthcheck?.test.length, name).toBeGreaterThan(0);
      for (const port of service.ports) expect(port, name).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it('publishes the same host ports as the native stack (services on the host network bind their own)', () => {
    const { services } = normalised();
    const published = Object.values(services)
      .flatMap((s) => s.ports)
      .map((p) => Number(p.split(':')[1]));
    const onHostNetwork = Object.entries(services)
      .filter(([, s]) => s.network_mode === 'host')
      .map(([name]) => name);
    const clientPorts = nativeServices
      .filter((s) => !onHostNetwork.includes(s.name))
      .flatMap((s) => s.ports.slice(0, 1));
    expect(published.sort()).toEqual(clientPorts.sort());
  });

  it('runs Airflow as the native stack does, on the host network with every listener on 127.0.0.1', () => {
    const { services } = normalised();
    for (const name of ['airflow-scheduler', 'airflow-dag-processor', 'airflow']) {
      const service = services[name];
      expect(service?.image, name).toBe('apache/airflow:3.3.2-python3.11');
      expect(service?.network_mode, name).toBe('host');
      expect(service?.environment, name).toMatchObject({
        AIRFLOW__API__HOST: '127.0.0.1',
        AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST: '127.0.0.1',
        AIRFLOW__CORE__DAGS_FOLDER: '/opt/airflow/dags',
      });
    }
    // The scheduler's log server would listen on every interface.
    expect(services['airflow-scheduler']?.command.join(' ')).toContain('--skip-serve-logs');
    expect(services['airflow']?.depends_on).toEqual({
      'airflow-dag-processor': { condition: 'service_healthy' },
    });
  });

  it('starts the registry only once PostgreSQL is healthy, and keeps data in named volumes', () => {
    const config = normalised();
    expect(config.services['registry']?.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(Object.keys(config.volumes).sort()).toEqual([
      'cassandra-data',
      'kafka-data',
      'localstack-data',
      'postgres-data',
      'spark-ivy',
    ]);
  });
});
