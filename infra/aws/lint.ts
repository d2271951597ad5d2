/**
 * cfn-lint on every CloudFormation template: those under infra/ (any YAML or JSON file that declares
 * AWSTemplateFormatVersion) and the stacks of both stages as `sls package` makes them. cfn-lint is
 * pinned and installed once into its own venv under .local/downloads. Exits non-zero on any finding.
 * `npm test` runs it after the format check; alone: `npm run lint:cfn`.
 *
 * Property types are checked strictly (E3012 in strict mode): by default cfn-lint accepts any value
 * Python's int() accepts where CloudFormation wants an Integer, so `0.5` passes as `0`, and
 * CloudFormation then refuses the stack at deploy time. A canary template holding exactly that
 * mistake must fail first, so that a cfn-lint upgrade that loosens the check cannot pass unnoticed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { downloadsDir, repoRoot } from '../stack/lib/paths.ts';
import { installPythonVenv } from '../stack/lib/toolchain.ts';
import { versions } from '../stack/versions.ts';
import { packagedTemplateName, slsPackage } from './sls-package.ts';
import { runMain, say } from '#scripts/cli.ts';

/** The options every run shares: property types as CloudFormation types them, not as Python casts them. */
const strictTypes = ['--configure-rule', 'E3012:strict=true'];

/** The CloudFormation templates kept under `dir`, found by their format version, not by their name. */
function cloudFormationTemplates(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(ya?ml|json)$/.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .filter((file) => /^\s*"?AWSTemplateFormatVersion"?\s*:/m.test(readFileSync(file, 'utf8')))
    .sort();
}

/** cfn-lint's executable, installed on first use. */
async function installCfnLint(): Promise<string> {
  const venv = path.join(downloadsDir, `cfn-lint-${versions.cfnLint}`);
  const spec = `cfn-lint==${versions.cfnLint}`;
  await installPythonVenv({
    target: venv,
    python: 'python3',
    pipArgs: ['--exclude-newer', versions.cfnLintResolvedAsOf, spec],
    stamp: `${spec} as of ${versions.cfnLintResolvedAsOf}`,
    progress: say,
    announce: () => {
      say(`installing ${spec} into ${venv}`);
    },
  });
  return path.join(venv, 'bin', 'cfn-lint');
}

/**
 * A template whose only fault is a fraction where CloudFormation types an Integer (the MSK trigger's
 * `maximumBatchingWindow: 0.5` once went through to the stack like this).
 */
const canary = {
  AWSTemplateFormatVersion: '2010-09-09',
  Resources: {
    Mapping: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        FunctionName: 'sink',
        EventSourceArn:
          'arn:aws:kafka:us-east-1:123456789012:cluster/demo/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0-s1',
        Topics: ['users'],
        StartingPosition: 'TRIM_HORIZON',
        MaximumBatchingWindowInSeconds: 0.5,
      },
    },
  },
};

/** True when cfn-lint, as this script runs it, reports the canary's fraction. */
function canaryFails(cfnLint: string): boolean {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'cfn-lint-canary-')), 'canary.json');
  writeFileSync(file, JSON.stringify(canary, null, 2));
  const result = spawnSync(cfnLint, [...strictTypes, '--', file], { encoding: 'utf8' });
  return result.status !== 0 && result.stdout.includes("E3012 0.5 is not of type 'integer'");
}

async function main(): Promise<number> {
  const cfnLint = await installCfnLint();
  if (!canaryFails(cfnLint)) {
    say(
      `cfn-lint ${versions.cfnLint} no longer reports 0.5 where an Integer is due: fix ${path.relative(repoRoot, import.meta.filename)}`,
    );
    return 1;
  }
  const templates = cloudFormationTemplates(path.join(repoRoot, 'infra'));
  say(`cfn-lint ${versions.cfnLint}: ${templates.map((file) => path.relative(repoRoot, file)).join(', ')}`);
  const ours = spawnSync(cfnLint, [...strictTypes, '--', ...templates], { stdio: 'inherit' });
  // Both stages: the local one is never deployed, but its mapping's settings are the offline
  // trigger's, and a value AWS would refuse there would be refused on the aws stage too.
  const stages = { local: { PIPELINE_API_KEY: 'cfn-lint' }, aws: {} };
  let packagedOk = true;
  for (const [stage, env] of Object.entries(stages)) {
    say(`cfn-lint: the ${stage} stage as \`sls package --stage ${stage}\` makes it`);
    // W3005 (a DependsOn that a GetAtt already implies) is written by serverless-iam-roles-per-function
    // on every function; harmless, and not in a file of ours.
    const packaged = spawnSync(
      cfnLint,
      [
        ...strictTypes,
        '--ignore-checks',
        'W3005',
        '--',
        path.join(slsPackage(stage, env), packagedTemplateName),
      ],
      { stdio: 'inherit' },
    );
    packagedOk = packaged.status === 0 && packagedOk;
  }
  return ours.status === 0 && packagedOk ? 0 : 1;
}

runMain('cfn-lint', main, {
  usage: 'usage: npm run lint:cfn   (cfn-lint on the templates under infra/ and the packaged aws stage)',
});
