import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { infraTemplate } from '#infra/aws/infra-template.ts';
import { CfnResource, IngressRule } from '#tests/support/cfn-template.ts';

const Template = z.object({ Resources: z.record(z.string(), CfnResource) });

const template = Template.parse(infraTemplate());
const resource = (name: string) => template.Resources[name];
const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
const ref = (name: string) => ({ Ref: name });

/**
 * infra/aws/template.yml, the infrastructure stack: what cfn-lint cannot know about it (npm run
 * lint:cfn checks its syntax and property types), such as which traffic reaches what.
 */
describe('infra/aws/template.yml', () => {
  it("gives the MSK mapping's on-failure destination an SQS interface endpoint in the cluster's subnets", () => {
    // AWS: "You must deploy a VPC endpoint for your on-failure destination service inside your Amazon
    // MSK cluster VPC." With private DNS, SQS's regional name resolves to it inside the VPC.
    const endpoints = ofType('AWS::EC2::VPCEndpoint').filter(
      ([, r]) =>
        JSON.stringify(r.Properties['ServiceName']) ===
        JSON.stringify({ 'Fn::Sub': 'com.amazonaws.${AWS::Region}.sqs' }),
    );
    expect(endpoints).toHaveLength(1);
    const [, endpoint] = endpoints[0] ?? [];
    const cluster = z
      .object({ VpcConfigs: z.array(z.object({ SubnetIds: z.array(z.unknown()) })) })
      .parse(resource('KafkaCluster')?.Properties);
    expect(endpoint?.Properties).toMatchObject({
      VpcId: ref('Vpc'),
      VpcEndpointType: 'Interface',
      PrivateDnsEnabled: true,
      SubnetIds: cluster.VpcConfigs[0]?.SubnetIds,
    });
    expect(cluster.VpcConfigs[0]?.SubnetIds).toEqual([ref('PrivateSubnetA'), ref('PrivateSubnetB')]);
  });

  it("admits HTTPS to the SQS endpoint from the mapping's pollers and from the functions, and nothing else", () => {
    const [, endpoint] =
      ofType('AWS::EC2::VPCEndpoint').find(([, r]) => r.Properties['VpcEndpointType'] === 'Interface') ?? [];
    const groups = z.array(z.object({ Ref: z.string() })).parse(endpoint?.Properties['SecurityGroupIds']);
    expect(groups).toHaveLength(1);
    const group = resource(groups[0]?.Ref ?? '');
    expect(group?.Type).toBe('AWS::EC2::SecurityGroup');
    const ingress = z.array(IngressRule).parse(group?.Properties['SecurityGroupIngress']);
    // The pollers run with the cluster's security group; the sink sends poison records with the
    // functions' one, and private DNS routes every SQS call in the VPC through the endpoint.
    expect(ingress.map(({ Description: _description, ...rule }) => rule)).toEqual([
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, SourceSecurityGroupId: ref('KafkaSecurityGroup') },
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, SourceSecurityGroupId: ref('FunctionSecurityGroup') },
    ]);
  });

  it("pins PostgreSQL to a major version only, and the parameter group to that major's family", () => {
    // A minor version (17.6) is one RDS stops offering for new instances once it is deprecated, and
    // creating the stack then fails. With the major alone RDS picks its default minor, and minor
    // upgrades are applied in the maintenance window; drift detection matches the prefix.
    const database = z
      .object({ Engine: z.literal('postgres'), EngineVersion: z.string(), DBParameterGroupName: z.unknown() })
      .parse(resource('Database')?.Properties);
    expect(database.EngineVersion).toMatch(/^\d+$/);
    expect(database.DBParameterGroupName).toEqual(ref('DatabaseParameters'));
    expect(resource('DatabaseParameters')?.Properties['Family']).toBe(`postgres${database.EngineVersion}`);
    expect(resource('Database')?.Properties['AutoMinorVersionUpgrade'] ?? true).toBe(true);
  });
});
