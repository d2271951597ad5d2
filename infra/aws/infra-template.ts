import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, type Tags, type YAMLSeq } from 'yaml';
import { repoRoot } from '../stack/lib/paths.ts';

/** The infrastructure stack's CloudFormation (deployed as `user-pipeline-aws-infra`). */
export const infraTemplatePath = path.join(repoRoot, 'infra/aws/template.yml');

/** The short forms template.yml uses, by their long names. */
const intrinsics = {
  Ref: 'Ref',
  Sub: 'Fn::Sub',
  GetAtt: 'Fn::GetAtt',
  GetAZs: 'Fn::GetAZs',
  Select: 'Fn::Select',
  Split: 'Fn::Split',
  Join: 'Fn::Join',
  ImportValue: 'Fn::ImportValue',
  If: 'Fn::If',
  Equals: 'Fn::Equals',
};

/**
 * Each short form as YAML tags, on a scalar (`!Ref Vpc`, `!GetAtt A.B`) and on a sequence
 * (`!Sub [text, {vars}]`), resolved to the long form CloudFormation itself reads them as.
 */
const cloudFormationTags: Tags = Object.entries(intrinsics).flatMap(([short, long]) => [
  {
    tag: `!${short}`,
    // `!GetAtt A.B.C` is [A, 'B.C']: the resource, then the attribute (which may hold dots itself).
    resolve: (value: string) => ({
      [long]:
        short === 'GetAtt'
          ? [value.slice(0, value.indexOf('.')), value.slice(value.indexOf('.') + 1)]
          : value,
    }),
  },
  {
    tag: `!${short}`,
    collection: 'seq' as const,
    resolve: (value: unknown) => ({ [long]: (value as YAMLSeq).toJSON() }),
  },
]);

/**
 * template.yml parsed as CloudFormation reads it, every intrinsic in its long form (`{Ref: Vpc}`,
 * `{'Fn::Sub': …}`), so that tests read it as they read the packaged JSON stacks.
 */
export const infraTemplate = (): unknown =>
  parse(readFileSync(infraTemplatePath, 'utf8'), { customTags: cloudFormationTags });
