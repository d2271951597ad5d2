import { pipelineServiceNames } from '#infra/stack/services/index.ts';
import { allRunning, down, up } from '#infra/stack/stack.ts';

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
  return async () => {
    if (!wasUp) await down([], report);
  };
}
