import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { repoRoot } from '../stack/lib/paths.ts';

/** The file `sls package` writes the stack's CloudFormation to. */
export const packagedTemplateName = 'cloudformation-template-update-stack.json';

/**
 * Runs `sls package --stage <stage>` on the real serverless.yml into a fresh temporary folder and
 * returns that folder; `args` are added to the command (`--param=…`, as a deploy would pass them).
 * Offline: the aws stage takes the infrastructure stack's outputs as Fn::ImportValue, which
 * CloudFormation resolves at deploy time, so no AWS account or call is needed.
 */
export function slsPackage(stage: string, env: NodeJS.ProcessEnv = {}, args: readonly string[] = []): string {
  const out = mkdtempSync(path.join(os.tmpdir(), `sls-package-${stage}-`));
  const result = spawnSync(
    path.join(repoRoot, 'node_modules/.bin/sls'),
    ['package', '--stage', stage, '--package', out, ...args],
    { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, ...env } },
  );
  if (result.status !== 0)
    throw new Error(`sls package --stage ${stage} failed:\n${result.stdout}${result.stderr}`);
  return out;
}

/** The packaged stack's CloudFormation, parsed. */
export const packagedTemplate = (dir: string): unknown =>
  JSON.parse(readFileSync(path.join(dir, packagedTemplateName), 'utf8'));

/** The part of the service that the offline plugins read, as `sls package` resolved it. */
const PackagedService = z.object({
  service: z.object({
    service: z.string(),
    provider: z.object({
      region: z.string().optional(),
      environment: z.record(z.string(), z.unknown()).optional(),
    }),
    custom: z.unknown(),
    functions: z.record(z.string(), z.object({ name: z.string(), events: z.array(z.unknown()).default([]) })),
  }),
});
type PackagedService = z.infer<typeof PackagedService>['service'];

/**
 * serverless-state.json writes a value met a second time as `{"$ref": "$[\"service\"][\"provider\"]…"}`
 * (a path from the file's root): puts each such value back where it was referenced.
 */
function withReferencesResolved(root: unknown): unknown {
  const at = (ref: string): unknown =>
    [...ref.matchAll(/\[("(?:[^"\\]|\\.)*"|\d+)\]/g)].reduce<unknown>((value, [, key]) => {
      const step: unknown = JSON.parse(key ?? 'null');
      return typeof value === 'object' && value !== null
        ? (value as Record<string, unknown>)[String(step)]
        : undefined;
    }, root);
  const walk = (value: unknown, depth: number): unknown => {
    if (depth > 50) throw new Error('serverless-state.json: references nest too deep');
    if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1));
    if (typeof value !== 'object' || value === null) return value;
    const entries = Object.entries(value);
    const [only] = entries;
    if (entries.length === 1 && only?.[0] === '$ref' && typeof only[1] === 'string')
      return walk(at(only[1]), depth + 1);
    return Object.fromEntries(entries.map(([key, item]) => [key, walk(item, depth + 1)]));
  };
  return walk(root, 0);
}

/**
 * The service of a `sls package` folder as the framework resolved it (stage params, variables), from
 * its serverless-state.json: the `custom` block and the functions' events that plugins such as the
 * offline Kafka trigger read under `sls offline`, without starting it.
 */
export function packagedService(dir: string): PackagedService {
  const state: unknown = JSON.parse(readFileSync(path.join(dir, 'serverless-state.json'), 'utf8'));
  return PackagedService.parse(withReferencesResolved(state)).service;
}
