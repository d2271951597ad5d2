import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../stack/lib/paths.ts';

/** The file `sls package` writes the stack's CloudFormation to. */
export const packagedTemplateName = 'cloudformation-template-update-stack.json';

/**
 * Runs `sls package --stage <stage>` on the real serverless.yml into a fresh temporary folder and
 * returns that folder. Offline: the aws stage takes the infrastructure stack's outputs as
 * Fn::ImportValue, which CloudFormation resolves at deploy time, so no AWS account or call is needed.
 */
export function slsPackage(stage: string, env: NodeJS.ProcessEnv = {}): string {
  const out = mkdtempSync(path.join(os.tmpdir(), `sls-package-${stage}-`));
  const result = spawnSync(
    path.join(repoRoot, 'node_modules/.bin/sls'),
    ['package', '--stage', stage, '--package', out],
    { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, ...env } },
  );
  if (result.status !== 0)
    throw new Error(`sls package --stage ${stage} failed:\n${result.stdout}${result.stderr}`);
  return out;
}

/** The packaged stack's CloudFormation, parsed. */
export const packagedTemplate = (dir: string): unknown =>
  JSON.parse(readFileSync(path.join(dir, packagedTemplateName), 'utf8'));
