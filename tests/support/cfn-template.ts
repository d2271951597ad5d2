/** Zod shapes for reading CloudFormation templates in tests (infra/aws/template.yml, the packaged stacks). */
import { z } from 'zod';

/** A resource, with the condition that creates it (if any). */
export const CfnResource = z.object({
  Type: z.string(),
  Condition: z.string().optional(),
  Properties: z.record(z.string(), z.unknown()).default({}),
});

/** One security group ingress rule, inline or as an AWS::EC2::SecurityGroupIngress resource. */
export const IngressRule = z.object({
  IpProtocol: z.string(),
  FromPort: z.number().optional(),
  ToPort: z.number().optional(),
  CidrIp: z.string().optional(),
  CidrIpv6: z.string().optional(),
  SourceSecurityGroupId: z.unknown().optional(),
  SourcePrefixListId: z.unknown().optional(),
  Description: z.string().optional(),
});
