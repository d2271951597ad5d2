/**
 * cfn-lint on every CloudFormation template: those under infra/ (any YAML or JSON file that declares
 * AWSTemplateFormatVersion) and the aws stage's stack as `sls package` makes it. cfn-lint is pinned
 * and installed once into its own venv under .local/downloads. Exits non-zero on any finding.
 * `npm test` runs it after the format check; alone: `npx tsx infra/aws/lint.ts`.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { downloadsDir, repoRoot } from '../stack/lib/paths.ts';
import { installPythonVenv } from '../stack/lib/toolchain.ts';
import { versions } from '../stack/versions.ts';
import { packagedTemplateName, slsPackage } from './sls-package.ts';
import { runMain, say } from '#scripts/cli.ts';

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

async function main(): Promise<number> {
  const cfnLint = await installCfnLint();
  const templates = cloudFormationTemplates(path.join(repoRoot, 'infra'));
  say(`cfn-lint ${versions.cfnLint}: ${templates.map((file) => path.relative(repoRoot, file)).join(', ')}`);
  const ours = spawnSync(cfnLint, ['--', ...templates], { stdio: 'inherit' });
  say('cfn-lint: the aws stage as `sls package --stage aws` makes it');
  // W3005 (a DependsOn that a GetAtt already implies) is written by serverless-iam-roles-per-function
  // on every function; harmless, and not in a file of ours.
  const packaged = spawnSync(
    cfnLint,
    ['--ignore-checks', 'W3005', '--', path.join(slsPackage('aws'), packagedTemplateName)],
    { stdio: 'inherit' },
  );
  return ours.status === 0 && packaged.status === 0 ? 0 : 1;
}

runMain('cfn-lint', main, {
  usage: 'usage: npm run lint:cfn   (cfn-lint on the templates under infra/ and the packaged aws stage)',
});
