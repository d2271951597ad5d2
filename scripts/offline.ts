/**
 * `npm run offline`: serves the functions with `sls offline` against the local stack, with the
 * stack's API key (printed once) and the AWS emulator's test credentials. Bring the stack up first.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { localApiKey } from '../infra/local/bootstrap.js';
import { endpoints } from '../infra/stack/endpoints.js';
import { repoRoot } from '../infra/stack/lib/paths.js';

/** The environment `sls offline` needs for the local stage (no secret: emulator credentials). */
export async function offlineEnvironment(): Promise<NodeJS.ProcessEnv> {
  return {
    PIPELINE_API_KEY: await localApiKey(),
    AWS_ACCESS_KEY_ID: endpoints.aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: endpoints.aws.credentials.secretAccessKey,
    AWS_REGION: endpoints.aws.region,
  };
}

if (process.argv[1]?.endsWith('offline.ts') === true) {
  const env = await offlineEnvironment();
  process.stdout.write(`API key for x-api-key: ${env['PIPELINE_API_KEY'] ?? ''}\n`);
  const child = spawn(
    path.join(repoRoot, 'node_modules/.bin/sls'),
    ['offline', 'start', ...process.argv.slice(2)],
    {
      cwd: repoRoot,
      stdio: 'inherit',
      env: { ...process.env, ...env },
    },
  );
  child.on('exit', (code) => process.exit(code ?? 1));
}
