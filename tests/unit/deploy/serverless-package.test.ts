import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { endpoints } from '../../../infra/stack/endpoints.js';
import { repoRoot } from '../../../infra/stack/lib/paths.js';

const Template = z.object({
  Resources: z.record(
    z.string(),
    z.object({ Type: z.string(), Properties: z.record(z.string(), z.unknown()) }),
  ),
});
type Template = z.infer<typeof Template>;

const resourcesOf = (template: Template, type: string) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type);

/** The CloudFormation that `sls package --stage local` makes from the real serverless.yml. */
describe('serverless.yml', () => {
  let template: Template;
  const lambda = (name: string) =>
    resourcesOf(template, 'AWS::Lambda::Function').find(([, r]) => r.Properties['FunctionName'] === name)?.[1]
      .Properties;
  const policyOf = (name: string): string => {
    const role = lambda(name)?.['Role'] as { 'Fn::GetAtt': [string, string] } | undefined;
    const logicalId = role?.['Fn::GetAtt'][0] ?? '';
    return JSON.stringify(template.Resources[logicalId]?.Properties['Policies']);
  };

  beforeAll(() => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'sls-package-'));
    const result = spawnSync(
      path.join(repoRoot, 'node_modules/.bin/sls'),
      ['package', '--stage', 'local', '--package', out],
      {
        cwd: repoRoot,
        encoding: 'utf8',
        env: { ...process.env, PIPELINE_API_KEY: 'test-key' },
      },
    );
    if (result.status !== 0) throw new Error(`sls package failed:\n${result.stdout}${result.stderr}`);
    template = Template.parse(
      JSON.parse(readFileSync(path.join(out, 'cloudformation-template-update-stack.json'), 'utf8')),
    );
  });

  it('packages the six functions on the Node.js 22 runtime', () => {
    for (const name of ['health', 'fetch', 'persist', 'publish', 'status', 'sink']) {
      expect(lambda(`user-pipeline-local-${name}`), name).toMatchObject({
        Runtime: 'nodejs22.x',
        Handler: `functions/${name}/handler.handler`,
      });
    }
  });

  it('requires the API key on fetch, persist, publish and status, and not on health', () => {
    const methods = resourcesOf(template, 'AWS::ApiGateway::Method').map(([, r]) => r.Properties);
    expect(methods.filter((m) => m['HttpMethod'] === 'POST').map((m) => m['ApiKeyRequired'])).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(methods.filter((m) => m['HttpMethod'] === 'GET').map((m) => m['ApiKeyRequired'] ?? false)).toEqual(
      [false],
    );
    const paths = resourcesOf(template, 'AWS::ApiGateway::Resource').map(([, r]) => r.Properties['PathPart']);
    expect(paths.sort()).toEqual(['fetch', 'health', 'persist', 'publish', 'status']);
  });

  it("maps the users topic to sink through a Kafka event-source mapping with the sink's batching and on-failure queue", () => {
    const mappings = resourcesOf(template, 'AWS::Lambda::EventSourceMapping').map(([, r]) => r.Properties);
    expect(mappings).toHaveLength(1);
    expect(mappings[0]).toMatchObject({
      Topics: ['user-pipeline.users'],
      BatchSize: 2000,
      MaximumBatchingWindowInSeconds: 0.5,
      StartingPosition: 'TRIM_HORIZON',
      SelfManagedEventSource: { Endpoints: { KafkaBootstrapServers: ['127.0.0.1:9092'] } },
      SelfManagedKafkaEventSourceConfig: { ConsumerGroupId: 'user-pipeline-local-sink' },
      DestinationConfig: {
        OnFailure: {
          Destination: 'arn:aws:sqs:us-east-1:000000000000:user-pipeline-local-sink-failed-batches',
        },
      },
    });
  });

  it('gives each function its own role: fetch may only write the raw zone, persist read it and the DB secret', () => {
    expect(policyOf('user-pipeline-local-fetch')).toContain('s3:PutObject');
    expect(policyOf('user-pipeline-local-fetch')).not.toMatch(/secretsmanager|s3:GetObject/);
    expect(policyOf('user-pipeline-local-persist')).toContain('secretsmanager:GetSecretValue');
    expect(policyOf('user-pipeline-local-persist')).toContain('s3:GetObject');
    expect(policyOf('user-pipeline-local-persist')).not.toContain('s3:PutObject');
    expect(policyOf('user-pipeline-local-publish')).toContain('secretsmanager:GetSecretValue');
    expect(policyOf('user-pipeline-local-publish')).not.toMatch(/s3:|sqs:/);
    expect(policyOf('user-pipeline-local-status')).toContain('secretsmanager:GetSecretValue');
    expect(policyOf('user-pipeline-local-status')).not.toMatch(/s3:|sqs:/);
    expect(policyOf('user-pipeline-local-sink')).toContain('sqs:SendMessage');
    expect(policyOf('user-pipeline-local-sink')).toContain('user-pipeline-local-sink-dlq');
    expect(policyOf('user-pipeline-local-sink')).not.toMatch(/s3:|secretsmanager/);
  });

  it('gives each function its own environment, with secret names and never secret values', () => {
    const env = (name: string) =>
      (lambda(`user-pipeline-local-${name}`)?.['Environment'] as { Variables: Record<string, unknown> })
        .Variables;
    expect(env('fetch')).toMatchObject({
      RAW_BUCKET: 'user-pipeline-local-raw',
      RANDOMUSER_BASE_URL: 'http://127.0.0.1:3100',
    });
    expect(env('fetch')).not.toHaveProperty('DB_SECRET_ID');
    expect(env('persist')).toMatchObject({ DB_SECRET_ID: 'user-pipeline/local/postgres' });
    const { superuser, pipeline, registry } = endpoints.postgres;
    const secrets = [superuser.password, pipeline.password, registry.password, 'test-key'];
    expect(env('publish')).toMatchObject({
      DB_SECRET_ID: 'user-pipeline/local/postgres',
      USERS_TOPIC: 'user-pipeline.users',
      USERS_SUBJECT: 'user-pipeline.users-value',
    });
    expect(env('sink')).toMatchObject({ CASSANDRA_KEYSPACE: 'user_pipeline' });
    expect(env('status')).toMatchObject({
      DB_SECRET_ID: 'user-pipeline/local/postgres',
      CASSANDRA_KEYSPACE: 'user_pipeline',
    });
    expect(env('sink')).not.toHaveProperty('DB_SECRET_ID');
    for (const name of ['health', 'fetch', 'persist', 'publish', 'status', 'sink']) {
      expect(
        Object.values(env(name)).filter((value) => secrets.includes(String(value))),
        name,
      ).toEqual([]);
    }
  });
});
