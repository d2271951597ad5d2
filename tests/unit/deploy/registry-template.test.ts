import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { readFileSync } from 'node:fs';
import { infraTemplate } from '#infra/aws/infra-template.ts';
import { repoRoot } from '#infra/stack/lib/paths.ts';
import { versions } from '#infra/stack/versions.ts';
import { PublishSettings } from '#lib/config.ts';
import { CfnResource, IngressRule } from '#tests/support/cfn-template.ts';

const Template = z.object({
  Parameters: z.record(z.string(), z.object({ Default: z.unknown().optional() })),
  Conditions: z.record(z.string(), z.unknown()),
  Resources: z.record(z.string(), CfnResource),
  Outputs: z.record(z.string(), z.object({ Value: z.unknown(), Condition: z.string().optional() })),
});

const Container = z.object({
  Name: z.string(),
  Image: z.unknown(),
  Essential: z.boolean(),
  Command: z.array(z.string()).default([]),
  Environment: z.array(z.object({ Name: z.string(), Value: z.unknown() })).default([]),
  Secrets: z.array(z.object({ Name: z.string(), ValueFrom: z.unknown() })).default([]),
  PortMappings: z.array(z.object({ ContainerPort: z.number() })).default([]),
  DependsOn: z.array(z.object({ ContainerName: z.string(), Condition: z.string() })).default([]),
  HealthCheck: z.object({ Command: z.array(z.string()) }).optional(),
  LogConfiguration: z.object({ Options: z.record(z.string(), z.unknown()) }).optional(),
});

/** infra/aws/template.yml as CloudFormation reads it (short tags in their long form). */
const template = Template.parse(infraTemplate());
const resource = (name: string) => {
  const found = template.Resources[name];
  if (found === undefined) throw new Error(`no resource ${name} in template.yml`);
  return found;
};
const ref = (name: string) => ({ Ref: name });

const service = resource('RegistryService').Properties;
const taskDefinition = resource('RegistryTaskDefinition').Properties;
const containers = z.array(Container).parse(taskDefinition['ContainerDefinitions']);
const container = (name: string) => {
  const found = containers.find((c) => c.Name === name);
  if (found === undefined) throw new Error(`no container ${name} in the registry's task`);
  return found;
};
const registry = container('registry');
const databaseSetUp = container('registry-database');

/** Every logical id a value refers to (Ref, GetAtt, and the ${…} of Sub), parameters included. */
function referencesIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(referencesIn);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) => {
    if (key === 'Ref' && typeof inner === 'string') return [inner];
    if (key === 'Fn::GetAtt' && Array.isArray(inner)) return [String(inner[0])];
    if (key === 'Fn::Sub') {
      const text = Array.isArray(inner) ? String(inner[0]) : String(inner);
      const named = [...text.matchAll(/\$\{([A-Za-z0-9]+)[.}]/g)].map((m) => m[1] ?? '');
      return [...named, ...(Array.isArray(inner) ? referencesIn(inner[1]) : [])];
    }
    return referencesIn(inner);
  });
}

/** A security group's ingress: its own rules and the standalone SecurityGroupIngress resources on it. */
function ingressOf(group: string) {
  const inline = z.array(IngressRule).default([]).parse(resource(group).Properties['SecurityGroupIngress']);
  const standalone = Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::EC2::SecurityGroupIngress')
    .filter((r) => JSON.stringify(r.Properties['GroupId']) === JSON.stringify(ref(group)))
    .map((r) => IngressRule.parse(r.Properties));
  return [...inline, ...standalone];
}

describe('infra/aws/template.yml: the schema registry', () => {
  it('creates the registry only when no existing one is named, and nothing unconditional depends on it', () => {
    expect(template.Parameters['SchemaRegistryUrl']?.Default).toBe('');
    expect(template.Conditions['CreateRegistry']).toEqual({
      'Fn::Equals': [ref('SchemaRegistryUrl'), ''],
    });
    const conditional = new Set(
      Object.entries(template.Resources)
        .filter(([, r]) => r.Condition === 'CreateRegistry')
        .map(([name]) => name),
    );
    const registryTypes = Object.entries(template.Resources).filter(([, r]) =>
      /^AWS::(ECS|ServiceDiscovery|Logs)::/.test(r.Type),
    );
    expect(registryTypes.length).toBeGreaterThan(0);
    for (const [name] of registryTypes) expect(conditional, name).toContain(name);
    const unconditional = Object.entries(template.Resources).filter(([, r]) => r.Condition === undefined);
    for (const [name, r] of unconditional) {
      const onConditional = referencesIn(r.Properties).filter((id) => conditional.has(id));
      expect(onConditional, `${name} is created in either case`).toEqual([]);
    }
    expect([...conditional]).toEqual(
      expect.arrayContaining(['RegistryDatabaseSecret', 'RegistrySecurityGroup', 'DatabaseRegistryIngress']),
    );
  });

  it("admits only the functions' security group, on the registry's port, and nothing from the internet", () => {
    const network = service['NetworkConfiguration'] as {
      AwsvpcConfiguration: { AssignPublicIp: string; Subnets: unknown[]; SecurityGroups: unknown[] };
    };
    expect(network.AwsvpcConfiguration).toEqual({
      AssignPublicIp: 'DISABLED',
      Subnets: [ref('PrivateSubnetA'), ref('PrivateSubnetB')],
      SecurityGroups: [ref('RegistrySecurityGroup')],
    });
    expect(registry.PortMappings.map((p) => p.ContainerPort)).toEqual([8080]);
    expect(ingressOf('RegistrySecurityGroup')).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 8080,
        ToPort: 8080,
        SourceSecurityGroupId: ref('FunctionSecurityGroup'),
      }),
    ]);
    expect(ingressOf('RegistrySecurityGroup')[0]).not.toHaveProperty('CidrIp');
    // And the database admits the registry, on its port only.
    expect(ingressOf('DatabaseSecurityGroup')).toContainEqual(
      expect.objectContaining({
        FromPort: 5432,
        ToPort: 5432,
        SourceSecurityGroupId: ref('RegistrySecurityGroup'),
      }),
    );
  });

  it('gives the task its database credentials from secrets, never as plain environment values', () => {
    const fromSecret = (secret: string, key: string) => ({ 'Fn::Sub': `\${${secret}}:${key}::` });
    expect(registry.Secrets).toEqual(
      expect.arrayContaining([
        { Name: 'APICURIO_DATASOURCE_USERNAME', ValueFrom: fromSecret('RegistryDatabaseSecret', 'username') },
        { Name: 'APICURIO_DATASOURCE_PASSWORD', ValueFrom: fromSecret('RegistryDatabaseSecret', 'password') },
      ]),
    );
    expect(databaseSetUp.Secrets).toEqual(
      expect.arrayContaining([
        { Name: 'PGPASSWORD', ValueFrom: fromSecret('DatabaseSecret', 'password') },
        { Name: 'REGISTRY_DB_PASSWORD', ValueFrom: fromSecret('RegistryDatabaseSecret', 'password') },
      ]),
    );
    for (const c of containers) {
      for (const { Name, Value } of c.Environment) {
        expect(Name, c.Name).not.toMatch(/PASSWORD|SECRET|USER/);
        expect(JSON.stringify(Value), `${c.Name}.${Name}`).not.toMatch(/resolve:secretsmanager|Secret/);
      }
    }
    // psql reads the password from its environment (\getenv), not from an argument a process list shows.
    expect(databaseSetUp.Command.join('\n')).toContain('\\getenv password REGISTRY_DB_PASSWORD');
    expect(databaseSetUp.Command.join('\n')).not.toContain('$REGISTRY_DB_PASSWORD');
    // Apicurio starts once its database exists.
    expect(databaseSetUp.Essential).toBe(false);
    expect(registry.DependsOn).toEqual([{ ContainerName: 'registry-database', Condition: 'SUCCESS' }]);
  });

  it('lets ECS read only the two secrets it injects and write only the registry log group; the task has no role', () => {
    expect(taskDefinition).not.toHaveProperty('TaskRoleArn');
    const role = z
      .object({
        Policies: z.array(
          z.object({
            PolicyDocument: z.object({
              Statement: z.array(
                z.object({ Effect: z.string(), Action: z.unknown(), Resource: z.unknown() }),
              ),
            }),
          }),
        ),
      })
      .parse(resource('RegistryExecutionRole').Properties);
    const statements = role.Policies.flatMap((p) => p.PolicyDocument.Statement);
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': ['RegistryLogGroup', 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: [ref('RegistryDatabaseSecret'), ref('DatabaseSecret')],
      },
    ]);
    expect(resource('RegistryExecutionRole').Properties).not.toHaveProperty('ManagedPolicyArns');
    expect(resource('RegistryLogGroup').Properties['RetentionInDays']).toBe(14);
    for (const c of containers) {
      expect(c.LogConfiguration?.Options['awslogs-group'], c.Name).toEqual(ref('RegistryLogGroup'));
    }
  });

  it("checks the registry's readiness on its management port, which the security group does not open", () => {
    const command = registry.HealthCheck?.Command ?? [];
    expect(command.slice(0, 3)).toEqual(['CMD', 'bash', '-c']);
    expect(command[3]).toContain('/dev/tcp/127.0.0.1/9000');
    expect(command[3]).toContain('GET /health/ready');
  });

  it("exports the registry's URL: its Cloud Map name, its port and the Confluent-compatible path", () => {
    const url = 'http://${RegistryDiscovery.Name}.${ServiceName}-${Stage}.internal:8080/apis/ccompat/v7';
    expect(template.Outputs['SchemaRegistryUrl']?.Value).toEqual({
      'Fn::If': ['CreateRegistry', { 'Fn::Sub': url }, ref('SchemaRegistryUrl')],
    });
    expect(resource('RegistryNamespace').Properties['Name']).toEqual({
      'Fn::Sub': '${ServiceName}-${Stage}.internal',
    });
    expect(resource('RegistryDiscovery').Properties['Name']).toBe('registry');
    expect(resource('RegistryDiscovery').Properties['NamespaceId']).toEqual(ref('RegistryNamespace'));
    expect(service['ServiceRegistries']).toEqual([
      { RegistryArn: { 'Fn::GetAtt': ['RegistryDiscovery', 'Arn'] } },
    ]);
    // Resolved with the default parameters, it is a URL the functions take.
    const resolved = url
      .replace('${RegistryDiscovery.Name}', 'registry')
      .replace('${ServiceName}', String(template.Parameters['ServiceName']?.Default))
      .replace('${Stage}', String(template.Parameters['Stage']?.Default));
    expect(resolved).toBe('http://registry.user-pipeline-aws.internal:8080/apis/ccompat/v7');
    expect(
      PublishSettings.safeParse({
        DB_SECRET_ID: 'user-pipeline/aws/postgres',
        MSK_CLUSTER_ARN: 'arn:aws:kafka:us-east-1:123456789012:cluster/user-pipeline-aws/0b1c2d3e-s1',
        USERS_TOPIC: 'user-pipeline.users',
        USERS_SUBJECT: 'user-pipeline.users-value',
        SCHEMA_REGISTRY_URL: resolved,
      }).error,
    ).toBeUndefined();
  });

  it('runs the Apicurio Registry of the local stack and of docker-compose.yml', () => {
    const compose = z
      .object({ services: z.object({ registry: z.object({ image: z.string() }) }) })
      .parse(parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')));
    expect(template.Parameters['RegistryImage']?.Default).toBe(
      `apicurio/apicurio-registry:${versions.apicurio}`,
    );
    expect(template.Parameters['RegistryImage']?.Default).toBe(compose.services.registry.image);
    expect(registry.Image).toEqual(ref('RegistryImage'));
  });
});
