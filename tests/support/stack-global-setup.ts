import { bootstrapLocalPipeline } from '../../infra/local/bootstrap.js';
import { pipelineServiceNames } from '../../infra/stack/services/index.js';
import { allRunning, down, up } from '../../infra/stack/stack.js';

/**
 * Brings the pipeline's services up for a suite that needs them, through the same code as
 * `npm run stack -- up` (the tests that need Airflow or Spark start those themselves). A stack that
 * was already up is left running; one this setup started is taken down afterwards, all of it.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const wasUp = await allRunning(pipelineServiceNames);
  const report = (line: string): void => {
    process.stdout.write(`[stack] ${line}\n`);
  };
  await up(pipelineServiceNames, report);
  await bootstrapLocalPipeline(report);
  return async () => {
    if (!wasUp) await down([], report);
  };
}

/**
 * `up` then the pipeline bootstrap, as `npm run stack -- up` does: tests that restart a service use
 * it, because the AWS emulator forgets the bucket and the secret when it restarts.
 */
export async function upAndBootstrap(names: readonly string[] = pipelineServiceNames): Promise<void> {
  await up(names);
  await bootstrapLocalPipeline();
}
