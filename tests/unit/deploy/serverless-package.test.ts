import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
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

describe('serverless.yml', () => {
  let template: Template;

  beforeAll(() => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'sls-package-'));
    const result = spawnSync(
      path.join(repoRoot, 'node_modules/.bin/sls'),
      ['package', '--stage', 'local', '--package', out],
      {
        cwd: repoRoot,
        encoding: 'utf8',
      },
    );
    if (result.status !== 0) throw new Error(`sls package failed:\n${result.stdout}${result.stderr}`);
    template = Template.parse(
      JSON.parse(readFileSync(path.join(out, 'cloudformation-template-update-stack.json'), 'utf8')),
    );
  });

  it('packages the health function on the Node.js 22 runtime', () => {
    const functions = resourcesOf(template, 'AWS::Lambda::Function').map(([, r]) => r.Properties);
    expect(functions).toContainEqual(
      expect.objectContaining({
        FunctionName: 'user-pipeline-local-health',
        Runtime: 'nodejs22.x',
        Handler: 'functions/health/handler.handler',
      }),
    );
  });

  it('routes GET /health to it', () => {
    const methods = resourcesOf(template, 'AWS::ApiGateway::Method').map(([, r]) => r.Properties);
    expect(methods).toContainEqual(expect.objectContaining({ HttpMethod: 'GET', AuthorizationType: 'NONE' }));
    const paths = resourcesOf(template, 'AWS::ApiGateway::Resource').map(([, r]) => r.Properties['PathPart']);
    expect(paths).toContain('health');
  });
});
