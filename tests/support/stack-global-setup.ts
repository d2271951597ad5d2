import { bootstrapLocalPipeline } from '../../infra/local/bootstrap.js';
import { down, status, up } from '../../infra/stack/stack.js';

/**
 * Brings the local stack up for a suite that needs it, through the same code as `npm run stack -- up`.
 * A stack that was already up is left running; one this setup started is taken down afterwards.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const wasUp = (await status()).every((s) => s.pid !== undefined);
  const report = (line: string): void => {
    process.stdout.write(`[stack] ${line}\n`);
  };
  await up([], report);
  await bootstrapLocalPipeline(report);
  return async () => {
    if (!wasUp) await down([], report);
  };
}

/**
 * `up` then the pipeline bootstrap, as `npm run stack -- up` does: tests that restart a service use
 * it, because the AWS emulator forgets the bucket and the secret when it restarts.
 */
export async function upAndBootstrap(names: readonly string[] = []): Promise<void> {
  await up(names);
  await bootstrapLocalPipeline();
}
