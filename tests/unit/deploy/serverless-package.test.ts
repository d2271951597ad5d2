import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { infraTemplate } from '#infra/aws/infra-template.ts';
import { packagedService, packagedTemplate, slsPackage } from '#infra/aws/sls-package.ts';
import { pipelineResources } from '#infra/pipeline/resources.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import { stackHome } from '#infra/stack/lib/paths.ts';
import { localFunctionEnvironments } from '#infra/stack/local-stage/function-env.ts';
import {
  ConsoleSettings,
  PersistSettings,
  PublishSettings,
  SinkSettings,
  StatusSettings,
} from '#lib/config.ts';
import { lazy } from '#lib/once.ts';
import { resolveConfig } from '#plugin/config.ts';
import { unzip } from '#tests/support/unzip.ts';

const Template = z.object({
  Resources: z.record(
    z.string(),
    z.object({ Type: z.string(), Properties: z.record(z.string(), z.unknown()) }),
  ),
});
type Template = z.infer<typeof Template>;

const resourcesOf = (template: Template, type: string) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type);

const Statement = z.object({
  Effect: z.literal('Allow'),
  Action: z.union([z.string(), z.array(z.string())]),
  Resource: z.unknown(),
});
type Statement = z.infer<typeof Statement>;
const Role = z.object({
  ManagedPolicyArns: z.array(z.unknown()).default([]),
  Policies: z.array(z.object({ PolicyDocument: z.object({ Statement: z.array(Statement) }) })),
});

/** Reading one packaged stack: a function's properties, its role, its statements and environment. */
function stackOf(template: () => Template, stage: string) {
  const lambda = (name: string) =>
    resourcesOf(template(), 'AWS::Lambda::Function').find(
      ([, r]) => r.Properties['FunctionName'] === `user-pipeline-${stage}-${name}`,
    )?.[1].Properties;
  const roleOf = (name: string) => {
    const role = lambda(name)?.['Role'] as { 'Fn::GetAtt': [string, string] } | undefined;
    return Role.parse(template().Resources[role?.['Fn::GetAtt'][0] ?? '']?.Properties);
  };
  const statementsOf = (name: string): Statement[] =>
    roleOf(name).Policies.flatMap((policy) => policy.PolicyDocument.Statement);
  return {
    lambda,
    roleOf,
    statementsOf,
    policyOf: (name: string): string => JSON.stringify(roleOf(name).Policies),
    /** The statements granting `action`, by their resources. */
    grants: (name: string, action: string): unknown[] =>
      statementsOf(name)
        .filter((s) => [s.Action].flat().includes(action))
        .map((s) => s.Resource),
    env: (name: string) =>
      (lambda(name)?.['Environment'] as { Variables: Record<string, unknown> }).Variables,
    mappings: () => resourcesOf(template(), 'AWS::Lambda::EventSourceMapping').map(([, r]) => r.Properties),
  };
}

const functionNames = ['health', 'fetch', 'persist', 'publish', 'status', 'sink', 'console'] as const;
/** The functions API Gateway calls (all but the sink). */
const httpFunctions = ['health', 'fetch', 'persist', 'publish', 'status', 'console'] as const;

/** esbuild bundles five functions per packaging: seconds alone, more while other test files run. */
const packagingTimeoutMs = 120_000;

/** Each stage packaged once for the whole file, into its own folder. */
/** No AWS credentials, no endpoint: packaging must not need an account. */
const noAwsAccount = {
  AWS_ACCESS_KEY_ID: '',
  AWS_SECRET_ACCESS_KEY: '',
  AWS_PROFILE: '',
  AWS_EC2_METADATA_DISABLED: 'true',
};

const packages = {
  // The stack home as `npm run offline` passes it (scripts/offline.ts): the local store's folder.
  local: lazy(() => slsPackage('local', { PIPELINE_API_KEY: 'test-key', STACK_HOME: stackHome })),
  aws: lazy(() => slsPackage('aws', noAwsAccount)),
  /** As `sls deploy --stage aws --param="registryAuth=basic"` packages it. */
  awsRegistryAuth: lazy(() => slsPackage('aws', noAwsAccount, ['--param=registryAuth=basic'])),
};

/** The CloudFormation that `sls package --stage local` makes from the real serverless.yml. */
describe('serverless.yml', () => {
  let template: Template;
  const { lambda, policyOf, env } = stackOf(() => template, 'local');

  beforeAll(() => {
    template = Template.parse(packagedTemplate(packages.local()));
  }, packagingTimeoutMs);

  it('packages the seven functions on the Node.js 22 runtime', () => {
    for (const name of functionNames) {
      expect(lambda(name), name).toMatchObject({
        Runtime: 'nodejs22.x',
        Handler: `functions/${name}/handler.handler`,
      });
    }
  });

  it('gives the HTTP functions the timeouts of the aws stage, and fetch no reserved concurrency', () => {
    for (const name of httpFunctions) {
      expect(lambda(name)?.['Timeout'], name).toBe(25);
    }
    // One machine, one address, and the local source has no rate limit.
    expect(lambda('fetch')).not.toHaveProperty('ReservedConcurrentExecutions');
  });

  it("requires the API key on every call that reads or changes data, and not on health or the console's page", () => {
    const resources = new Map(
      resourcesOf(template, 'AWS::ApiGateway::Resource').map(([id, r]) => [id, r.Properties]),
    );
    // A resource's whole path, from its PathPart and its parents'.
    const pathOf = (id: string): string => {
      const resource = resources.get(id);
      const parent = (resource?.['ParentId'] as { Ref?: string } | undefined)?.Ref;
      const part = String(resource?.['PathPart']);
      return parent === undefined || !resources.has(parent) ? part : `${pathOf(parent)}/${part}`;
    };
    const methods = resourcesOf(template, 'AWS::ApiGateway::Method').map(([, r]) => r.Properties);
    const keyRequired = Object.fromEntries(
      methods.map((m) => [
        `${String(m['HttpMethod'])} ${pathOf((m['ResourceId'] as { Ref: string }).Ref)}`,
        m['ApiKeyRequired'] ?? false,
      ]),
    );
    expect(keyRequired).toEqual({
      'GET health': false,
      'POST fetch': true,
      'POST persist': true,
      'POST publish': true,
      'POST status': true,
      'GET console': false,
      'GET console/{proxy+}': false,
      'GET console/api/{proxy+}': true,
      'POST console/api/{proxy+}': true,
    });
  });

  it("maps the users topic to sink through a Kafka event-source mapping with the sink's batching and on-failure queue", () => {
    const mappings = stackOf(() => template, 'local').mappings();
    expect(mappings).toHaveLength(1);
    expect(mappings[0]).toMatchObject({
      Topics: ['user-pipeline.users'],
      BatchSize: 2000,
      StartingPosition: 'TRIM_HORIZON',
      SelfManagedEventSource: { Endpoints: { KafkaBootstrapServers: ['127.0.0.1:9092'] } },
      SelfManagedKafkaEventSourceConfig: { ConsumerGroupId: 'user-pipeline-local-sink' },
      DestinationConfig: {
        OnFailure: {
          Destination: 'arn:aws:sqs:us-east-1:000000000000:user-pipeline-local-sink-failed-batches',
        },
      },
    });
    // CloudFormation types the window as whole seconds: none is set, so AWS's Kafka default of 500 ms
    // applies, and the offline trigger's default is the same.
    expect(mappings[0]).not.toHaveProperty('MaximumBatchingWindowInSeconds');
  });

  it('gives each function its own role: fetch may only write the raw zone, persist read it and the DB secret', () => {
    expect(policyOf('fetch')).toContain('s3:PutObject');
    expect(policyOf('fetch')).not.toMatch(/secretsmanager|s3:GetObject/);
    expect(policyOf('persist')).toContain('secretsmanager:GetSecretValue');
    expect(policyOf('persist')).toContain('s3:GetObject');
    expect(policyOf('persist')).not.toContain('s3:PutObject');
    expect(policyOf('publish')).toContain('secretsmanager:GetSecretValue');
    expect(policyOf('publish')).not.toMatch(/s3:|sqs:|kafka/);
    expect(policyOf('status')).toContain('secretsmanager:GetSecretValue');
    expect(policyOf('status')).not.toMatch(/s3:|sqs:|cassandra/);
    expect(policyOf('sink')).toContain('sqs:SendMessage');
    expect(policyOf('sink')).toContain('user-pipeline-local-sink-dlq');
    expect(policyOf('sink')).not.toMatch(/s3:|secretsmanager|kafka|cassandra/);
    for (const name of functionNames) expect(lambda(name)?.['VpcConfig'], name).toBeUndefined();
  });

  it('gives each function its own environment, with secret names and never secret values', () => {
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
    for (const name of functionNames) {
      expect(
        Object.values(env(name)).filter((value) => secrets.includes(String(value))),
        name,
      ).toEqual([]);
    }
  });

  it('gives each function exactly the environment that tests, benchmarks and the demo run it with', () => {
    for (const name of functionNames) {
      expect(env(name), name).toEqual(localFunctionEnvironments[name]);
    }
  });
});

const imported = (output: string) => ({ 'Fn::ImportValue': `user-pipeline-aws-infra-${output}` });

/** What CloudFormation would resolve the infrastructure stack's imports to: realistic placeholders. */
const importSamples: Record<string, string> = {
  'user-pipeline-aws-infra-MskClusterArn':
    'arn:aws:kafka:us-east-1:123456789012:cluster/user-pipeline-aws/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0-s1',
  'user-pipeline-aws-infra-SchemaRegistryUrl': 'https://registry.internal.example/apis/ccompat/v7',
  'user-pipeline-aws-infra-SinkDeadLetterQueueUrl':
    'https://sqs.us-east-1.amazonaws.com/123456789012/user-pipeline-aws-sink-dlq',
  'user-pipeline-aws-infra-RawBucketName': 'user-pipeline-aws-raw-123456789012',
  'user-pipeline-aws-infra-SinkFailedBatchesQueueUrl':
    'https://sqs.us-east-1.amazonaws.com/123456789012/user-pipeline-aws-sink-failed-batches',
};

/** A packaged environment with its imports resolved; any other intrinsic function is refused. */
function resolvedEnvironment(variables: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(variables).map(([key, value]) => {
      if (typeof value === 'string' || typeof value === 'number') return [key, String(value)];
      const output = (value as { 'Fn::ImportValue'?: string })['Fn::ImportValue'];
      const sample = output === undefined ? undefined : importSamples[output];
      if (sample === undefined) throw new Error(`${key}: no sample for ${JSON.stringify(value)}`);
      return [key, sample];
    }),
  );
}

/** Whether a folder or one above it holds node_modules: then an import could resolve outside the zip. */
function nodeModulesAbove(dir: string): string | undefined {
  for (let at = dir; ; at = path.dirname(at)) {
    if (existsSync(path.join(at, 'node_modules'))) return path.join(at, 'node_modules');
    if (path.dirname(at) === at) return undefined;
  }
}

/**
 * Unzips a function's zip into an empty folder (no node_modules in it or above it, a HOME of its own
 * so that Node's global folders are empty too) and imports its handler there with plain Node, as
 * Lambda's runtime loads it: the aws stage's environment from the template (imports resolved to
 * placeholders) and what the runtime sets, no NODE_PATH. Handlers read their settings at cold start,
 * so a bad environment fails here too. Returns the handler's type, or the import's error.
 */
async function importHandler(
  packaged: string,
  name: string,
  variables: Record<string, unknown>,
): Promise<unknown> {
  const root = mkdtempSync(path.join(os.tmpdir(), `lambda-${name}-`));
  try {
    const task = path.join(root, 'task');
    unzip(path.join(packaged, `${name}.zip`), task);
    const outside =
      nodeModulesAbove(task) ?? [path.resolve(process.execPath, '../../lib/node')].find(existsSync);
    if (outside !== undefined)
      throw new Error(`${outside} is visible from ${task}: the check would not hold`);
    const handler = pathToFileURL(path.join(task, 'functions', name, 'handler.mjs')).href;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(handler)}); process.stdout.write(JSON.stringify({ handler: typeof m.handler }));`,
      ],
      {
        cwd: task,
        timeout: 60_000,
        env: {
          ...resolvedEnvironment(variables),
          PATH: path.dirname(process.execPath),
          HOME: root,
          TZ: ':UTC',
          LAMBDA_TASK_ROOT: task,
          AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
          AWS_LAMBDA_FUNCTION_NAME: `user-pipeline-aws-${name}`,
          AWS_REGION: 'us-east-1',
          AWS_DEFAULT_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'ASIAPLACEHOLDER',
          AWS_SECRET_ACCESS_KEY: 'placeholder',
          AWS_SESSION_TOKEN: 'placeholder',
        },
      },
    );
    return JSON.parse(stdout) as unknown;
  } catch (error) {
    const failed = error as { stderr?: string; message?: string };
    return { error: (failed.stderr ?? '').trim() || failed.message };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** A secret's ARN as serverless.yml writes it: the stack's region and account, then `pattern`. */
const secretArn = (pattern: string) => ({
  'Fn::Join': [
    '',
    ['arn:aws:secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:secret:${pattern}`],
  ],
});
const dbSecret = secretArn('user-pipeline/aws/postgres-*');
/** Only the registry credentials secret: its name and Secrets Manager's six-character suffix. */
const registryCredentials = secretArn('user-pipeline/aws/schema-registry-??????');
const airflowCredentials = secretArn('user-pipeline/aws/airflow-??????');

/** Whether an IAM resource pattern (`*` any run, `?` one character) matches `arn`. */
const iamMatches = (pattern: string, arn: string) =>
  new RegExp(
    `^${pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
  ).test(arn);

/** The ARN a resource pattern of serverless.yml's secretArn form stands for, in a sample account. */
const sampleArn = (secretName: string) =>
  `arn:aws:secretsmanager:us-east-1:123456789012:secret:${secretName}-AbCdEf`;
const patternOf = (resource: unknown) => {
  const [, parts] = (resource as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return `arn:aws:secretsmanager:us-east-1:123456789012${String(parts.at(-1))}`;
};

/**
 * The CloudFormation of `sls package --stage aws`: made offline, every infrastructure value an import
 * of the infrastructure stack's exports (infra/aws/template.yml), resolved by CloudFormation at deploy.
 */
describe('serverless.yml, aws stage', () => {
  let template: Template;
  let packaged: string;
  const stack = stackOf(() => template, 'aws');
  const { lambda, env, grants, statementsOf, roleOf } = stack;

  beforeAll(() => {
    packaged = packages.aws();
    template = Template.parse(packagedTemplate(packaged));
  }, packagingTimeoutMs);

  it("maps the users topic to sink through an MSK event-source mapping with the sink's batching and on-failure queue", () => {
    const mappings = stack.mappings();
    expect(mappings).toHaveLength(1);
    expect(mappings[0]).toEqual({
      EventSourceArn: imported('MskClusterArn'),
      FunctionName: { 'Fn::GetAtt': ['SinkLambdaFunction', 'Arn'] },
      Topics: ['user-pipeline.users'],
      BatchSize: 2000,
      StartingPosition: 'TRIM_HORIZON',
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: 'user-pipeline-aws-sink' },
      ProvisionedPollerConfig: { MinimumPollers: 1, MaximumPollers: 2 },
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 86_400,
      DestinationConfig: { OnFailure: { Destination: imported('SinkFailedBatchesQueueArn') } },
    });
  });

  it('runs every function in the private subnets with the functions security group', () => {
    for (const name of functionNames) {
      expect(lambda(name)?.['VpcConfig'], name).toEqual({
        SubnetIds: [imported('PrivateSubnetAId'), imported('PrivateSubnetBId')],
        SecurityGroupIds: [imported('FunctionSecurityGroupId')],
      });
      expect(JSON.stringify(roleOf(name).ManagedPolicyArns), name).toContain(
        'AWSLambdaVPCAccessExecutionRole',
      );
    }
  });

  it("ends every HTTP function's call well before API Gateway's 29 s, a VPC cold start included", () => {
    // API Gateway's REST integration timeout is 29 s and counts the cold start; the function's own
    // timeout does not. An answer from the function (even "out of time") beats a 504 from API Gateway.
    for (const name of httpFunctions) {
      expect(lambda(name)?.['Timeout'], name).toBe(25);
    }
    expect(lambda('sink')?.['Timeout']).toBe(60);
  });

  it('runs fetch in one container at a time: they all leave through one NAT address, which randomuser.me limits', () => {
    expect(lambda('fetch')?.['ReservedConcurrentExecutions']).toBe(1);
    for (const name of ['health', 'persist', 'publish', 'status', 'sink', 'console'] as const) {
      expect(lambda(name), name).not.toHaveProperty('ReservedConcurrentExecutions');
    }
  });

  it('lets publish discover the cluster and write the users topic idempotently, and nothing else of Kafka', () => {
    const topic = { 'Fn::Join': ['/', [imported('MskTopicArnPrefix'), 'user-pipeline.users']] };
    expect(grants('publish', 'kafka:GetBootstrapBrokers')).toEqual([imported('MskClusterArn')]);
    expect(grants('publish', 'kafka-cluster:Connect')).toEqual([imported('MskClusterArn')]);
    expect(grants('publish', 'kafka-cluster:WriteDataIdempotently')).toEqual([imported('MskClusterArn')]);
    expect(grants('publish', 'kafka-cluster:WriteData')).toEqual([topic]);
    expect(grants('publish', 'kafka-cluster:DescribeTopic')).toEqual([topic]);
    expect(grants('publish', 'kafka-cluster:ReadData')).toEqual([]);
    expect(grants('publish', 'secretsmanager:GetSecretValue')).toEqual([dbSecret, registryCredentials]);
    expect(stack.policyOf('publish')).not.toMatch(/cassandra:|s3:|sqs:/);
  });

  it("lets the sink's mapping read the topic as its group, and the sink write the keyspace and its queues", () => {
    const topic = { 'Fn::Join': ['/', [imported('MskTopicArnPrefix'), 'user-pipeline.users']] };
    const group = { 'Fn::Join': ['/', [imported('MskGroupArnPrefix'), 'user-pipeline-aws-sink']] };
    expect(grants('sink', 'kafka-cluster:Connect')).toEqual([imported('MskClusterArn')]);
    expect(grants('sink', 'kafka-cluster:ReadData')).toEqual([topic]);
    expect(grants('sink', 'kafka-cluster:DescribeTopic')).toEqual([topic]);
    expect(grants('sink', 'kafka-cluster:AlterGroup')).toEqual([group]);
    expect(grants('sink', 'kafka-cluster:WriteData')).toEqual([]);
    expect(JSON.stringify(grants('sink', 'cassandra:Modify'))).toMatch(
      /:\/keyspace\/user_pipeline\/".*:\/keyspace\/user_pipeline\/table\/\*"/,
    );
    expect(JSON.stringify(grants('sink', 'cassandra:Select'))).toContain(':/keyspace/system*');
    expect(JSON.stringify(grants('sink', 'sqs:SendMessage'))).toContain('user-pipeline-aws-sink-dlq');
    expect(grants('sink', 'sqs:SendMessage')).toContainEqual(imported('SinkFailedBatchesQueueArn'));
    expect(stack.policyOf('sink')).not.toMatch(/s3:|kafka-cluster:Write/);
    expect(grants('sink', 'secretsmanager:GetSecretValue')).toEqual([registryCredentials]);
  });

  it('lets the console read every store, and change only what replaying dead letters takes', () => {
    const topic = { 'Fn::Join': ['/', [imported('MskTopicArnPrefix'), 'user-pipeline.users']] };
    const groups = { 'Fn::Join': ['/', [imported('MskGroupArnPrefix'), 'user-pipeline-aws-*']] };
    expect(grants('console', 'kafka-cluster:DescribeGroup')).toEqual([groups]);
    expect(grants('console', 'kafka-cluster:AlterGroup')).toEqual([]);
    expect(grants('console', 'kafka-cluster:ReadData')).toEqual([]);
    // Replay: the letters back to the topic (idempotently), then deleted from the dead-letter queue only.
    expect(grants('console', 'kafka-cluster:WriteData')).toEqual([topic]);
    expect(JSON.stringify(grants('console', 'sqs:DeleteMessage'))).toContain('user-pipeline-aws-sink-dlq');
    expect(grants('console', 'sqs:DeleteMessage')).toHaveLength(1);
    expect(grants('console', 'sqs:SendMessage')).toEqual([]);
    expect(grants('console', 'cassandra:Modify')).toEqual([]);
    expect(JSON.stringify(grants('console', 'cassandra:Select'))).toContain(
      ':/keyspace/user_pipeline/table/*',
    );
    expect(stack.policyOf('console')).not.toMatch(/s3:PutObject|s3:DeleteObject|kafka-cluster:Alter/);
    expect(env('console')['AIRFLOW_URL']).toBe('');
    expect(env('console')['AIRFLOW_CREDENTIALS_SECRET_ID']).toBe('');
  });

  it('lets status read the keyspace and the database secret, and write nothing', () => {
    expect(JSON.stringify(grants('status', 'cassandra:Select'))).toMatch(
      /:\/keyspace\/user_pipeline\/".*:\/keyspace\/user_pipeline\/table\/\*".*:\/keyspace\/system\*"/,
    );
    expect(grants('status', 'cassandra:Modify')).toEqual([]);
    expect(grants('status', 'secretsmanager:GetSecretValue')).toEqual([dbSecret]);
    expect(stack.policyOf('status')).not.toMatch(/s3:|sqs:|kafka/);
  });

  it("names no registry credentials by default (the stack's own registry takes none); only publish, sink and the console may read them", () => {
    expect(env('publish')['SCHEMA_REGISTRY_CREDENTIALS_SECRET_ID']).toBe('');
    expect(env('sink')['SCHEMA_REGISTRY_CREDENTIALS_SECRET_ID']).toBe('');
    const readable: Record<(typeof functionNames)[number], unknown[]> = {
      health: [],
      fetch: [],
      persist: [dbSecret],
      publish: [dbSecret, registryCredentials],
      status: [dbSecret],
      sink: [registryCredentials],
      console: [dbSecret, registryCredentials, airflowCredentials],
    };
    for (const name of functionNames) {
      expect(grants(name, 'secretsmanager:GetSecretValue'), name).toEqual(readable[name]);
    }
    // The pattern holds the one secret, and no longer name that starts like it.
    const pattern = patternOf(registryCredentials);
    expect(iamMatches(pattern, sampleArn(pipelineResources('aws').registryCredentialsSecretId))).toBe(true);
    expect(iamMatches(pattern, sampleArn('user-pipeline/aws/schema-registry-admin'))).toBe(false);
  });

  it("lets no function read the registry's own database secret (infra/aws/template.yml)", () => {
    const infra = z
      .object({
        Resources: z.object({
          RegistryDatabaseSecret: z.object({
            Properties: z.object({ Name: z.object({ 'Fn::Sub': z.string() }) }),
          }),
        }),
      })
      .parse(infraTemplate());
    const name = infra.Resources.RegistryDatabaseSecret.Properties.Name['Fn::Sub']
      .replace('${ServiceName}', 'user-pipeline')
      .replace('${Stage}', 'aws');
    expect(name).toBe('user-pipeline/aws/registry-postgres');
    for (const fn of functionNames) {
      for (const resource of grants(fn, 'secretsmanager:GetSecretValue')) {
        expect(iamMatches(patternOf(resource), sampleArn(name)), fn).toBe(false);
      }
    }
    expect(iamMatches(patternOf(dbSecret), sampleArn('user-pipeline/aws/postgres'))).toBe(true);
  });

  it('scopes S3 to the raw prefix, and gives a wildcard resource only to EC2 calls that take no other', () => {
    const rawObjects = { 'Fn::Join': ['', ['arn:aws:s3:::', imported('RawBucketName'), '/raw/*']] };
    expect(grants('fetch', 's3:PutObject')).toEqual([rawObjects]);
    expect(grants('persist', 's3:GetObject')).toEqual([rawObjects]);
    expect(stack.policyOf('fetch')).not.toMatch(/secretsmanager|kafka|cassandra|sqs:/);
    for (const name of functionNames) {
      const wildcards = statementsOf(name).filter((s) => JSON.stringify(s.Resource) === '"*"');
      expect(
        wildcards.flatMap((s) => [s.Action].flat()).filter((a) => !a.startsWith('ec2:Describe')),
        name,
      ).toEqual([]);
    }
  });

  it('configures the functions for MSK, Keyspaces and RDS, with secret names and never secret values', () => {
    expect(env('publish')).toMatchObject({
      KAFKA_BROKERS: '',
      MSK_CLUSTER_ARN: imported('MskClusterArn'),
      DB_SECRET_ID: 'user-pipeline/aws/postgres',
      DB_SSL: 'true',
      DB_SSL_CA: 'rds',
    });
    const keyspaces = {
      CASSANDRA_CONTACT_POINTS: 'cassandra.us-east-1.amazonaws.com',
      CASSANDRA_LOCAL_DC: 'us-east-1',
      CASSANDRA_PORT: '9142',
      CASSANDRA_AUTH: 'sigv4',
      CASSANDRA_TLS: 'true',
    };
    expect(env('sink')).toMatchObject({
      ...keyspaces,
      DEAD_LETTER_QUEUE_URL: imported('SinkDeadLetterQueueUrl'),
    });
    // S3 and SQS themselves: the local store is the local stage's alone.
    for (const name of functionNames) expect(env(name)['LOCAL_STORE_DIR'], name).toBe('');
    expect(env('status')).toMatchObject({ ...keyspaces, DB_SSL: 'true', DB_SSL_CA: 'rds' });
    for (const name of functionNames) {
      for (const [key, value] of Object.entries(env(name))) {
        // A plain setting or an import of a non-secret output; never a dynamic reference that
        // CloudFormation would resolve to a secret, never a password-like variable.
        expect(JSON.stringify(value), `${name}.${key}`).not.toMatch(/resolve:(secretsmanager|ssm-secure)/);
        expect(key, name).not.toMatch(/PASSWORD|TOKEN|(SECRET|KEY)$/);
      }
    }
    // API Gateway generates the key: its value is in no template.
    const [key] = resourcesOf(template, 'AWS::ApiGateway::ApiKey');
    expect(key?.[1].Properties).not.toHaveProperty('Value');
  });

  it('gives each function an environment its settings schema accepts once the imports resolve', () => {
    const resolved = (name: string) => resolvedEnvironment(env(name));
    expect(SinkSettings.safeParse(resolved('sink')).success).toBe(true);
    expect(PublishSettings.safeParse(resolved('publish')).error).toBeUndefined();
    expect(PersistSettings.safeParse(resolved('persist')).error).toBeUndefined();
    expect(StatusSettings.safeParse(resolved('status')).error).toBeUndefined();
    expect(ConsoleSettings.safeParse(resolved('console')).error).toBeUndefined();
    expect(PublishSettings.parse(resolved('publish')).MSK_CLUSTER_ARN).toMatch(/^arn:aws:kafka:/);
  });

  it(
    "starts every function from its zip alone on Node 22, as Lambda's runtime does: nothing outside the bundle",
    async () => {
      // Lambda's Node.js 22 runtime: Node 22 and an AWS SDK v3 of its choosing, which the bundles
      // must not rely on (the test cannot provide that copy, so nothing may be left to it).
      expect(process.versions.node.split('.')[0]).toBe('22');
      const results = await Promise.all(
        functionNames.map(async (name) => [name, await importHandler(packaged, name, env(name))] as const),
      );
      expect(Object.fromEntries(results)).toEqual(
        Object.fromEntries(functionNames.map((name) => [name, { handler: 'function' }])),
      );
    },
    packagingTimeoutMs,
  );

  it("keeps every function's zip under 5 MB, AWS SDK v3 bundled (all of it is parsed at cold start)", () => {
    for (const name of functionNames) {
      expect(statSync(path.join(packaged, `${name}.zip`)).size, name).toBeLessThan(5 * 1024 * 1024);
    }
  });
});

/**
 * The sink's trigger as the offline plugin runs it on the local stage (its own config resolution, fed
 * the service as `sls package` resolved it) against the MSK mapping the aws stage deploys: the same
 * batches, the same number of retries, the same age at which a record goes to the failed-batches
 * queue. Only the wait between retries differs: AWS's is its own.
 */
describe('the sink trigger, offline and on AWS', () => {
  let offline: ReturnType<typeof resolveConfig>['mappings'][number] | undefined;
  let aws: Record<string, unknown> | undefined;

  beforeAll(() => {
    const local = packagedService(packages.local());
    offline = resolveConfig({
      serviceName: local.service,
      providerRegion: local.provider.region,
      providerEnvironment: local.provider.environment,
      custom: local.custom,
      functions: Object.entries(local.functions).map(([key, fn]) => ({
        key,
        name: fn.name,
        events: fn.events,
      })),
      env: {},
      cliOptions: {},
    }).mappings[0];
    aws = stackOf(() => Template.parse(packagedTemplate(packages.aws())), 'aws').mappings()[0];
  }, packagingTimeoutMs);

  it('batches the same way: 2000 records or 500 ms', () => {
    expect(offline).toMatchObject({ batchSize: 2000, maximumBatchingWindowMs: 500 });
    expect(aws?.['BatchSize']).toBe(offline?.batchSize);
    // Unset on AWS: its Kafka default, 500 ms (CloudFormation cannot express a fraction of a second).
    expect(aws).not.toHaveProperty('MaximumBatchingWindowInSeconds');
  });

  it('gives up on a failing batch after as many retries, and on a record as old, both explicit on AWS', () => {
    expect(offline).toMatchObject({ maximumRetryAttempts: 10, maximumRecordAgeMs: 86_400_000 });
    expect(aws).toMatchObject({
      MaximumRetryAttempts: offline?.maximumRetryAttempts,
      MaximumRecordAgeInSeconds: (offline?.maximumRecordAgeMs ?? 0) / 1000,
    });
    expect(offline?.onFailureDestination).toBe(
      'arn:aws:sqs:us-east-1:000000000000:user-pipeline-local-sink-failed-batches',
    );
  });
});

/**
 * `sls deploy --stage aws --param="registryAuth=basic"`: for an existing registry that asks for
 * credentials. Only the name of their secret reaches the functions.
 */
describe('serverless.yml, aws stage, with registryAuth=basic', () => {
  let template: Template;
  const { env, grants } = stackOf(() => template, 'aws');

  beforeAll(() => {
    template = Template.parse(packagedTemplate(packages.awsRegistryAuth()));
  }, packagingTimeoutMs);

  it('gives publish and sink the name of the credentials secret, the one secret of the registry their roles may read', () => {
    const { registryCredentialsSecretId } = pipelineResources('aws');
    for (const name of ['publish', 'sink'] as const) {
      const value = env(name)['SCHEMA_REGISTRY_CREDENTIALS_SECRET_ID'];
      // A plain name: no dynamic reference CloudFormation would resolve to the secret's value.
      expect(value, name).toBe(registryCredentialsSecretId);
      expect(grants(name, 'secretsmanager:GetSecretValue'), name).toContainEqual(registryCredentials);
      expect(iamMatches(patternOf(registryCredentials), sampleArn(String(value))), name).toBe(true);
    }
    for (const name of ['health', 'fetch', 'persist', 'status'] as const) {
      expect(env(name), name).not.toHaveProperty('SCHEMA_REGISTRY_CREDENTIALS_SECRET_ID');
    }
    expect(
      SinkSettings.parse({
        ...env('sink'),
        SCHEMA_REGISTRY_URL: 'https://psrc-123.us-east-1.aws.confluent.cloud',
        DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/user-pipeline-aws-sink-dlq',
      }).SCHEMA_REGISTRY_CREDENTIALS_SECRET_ID,
    ).toBe(registryCredentialsSecretId);
  });
});
