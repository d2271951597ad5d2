import path from 'node:path';
import { endpoints } from '../endpoints.ts';
import { repoRoot } from '../lib/paths.ts';
import { ProcessService } from '../service.ts';

const { port } = endpoints.randomuser;

/**
 * The project's randomuser.me-compatible source (infra/randomuser), run as a stack service so that
 * offline runs, tests and benchmarks never depend on the real API; it also injects faults on demand.
 */
class RandomuserService extends ProcessService {
  readonly name = 'randomuser';
  readonly summary = 'randomuser.me-compatible source with fault switches (this project, infra/randomuser)';
  readonly ports = [port];
  override readonly startTimeoutMs = 30_000;

  checkPrerequisites(): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing to download: it is TypeScript of this repository, run by the project's Node. */
  provision(): Promise<void> {
    return Promise.resolve();
  }

  protected command(): Promise<{ command: string; args: string[] }> {
    return Promise.resolve({
      command: process.execPath,
      args: [
        '--import',
        'tsx',
        path.join(repoRoot, 'infra/randomuser/server.ts'),
        '--port',
        String(port),
        // Marks the process as ours for the pid check and the stray-process sweep.
        `--state=${this.paths.root}`,
      ],
    });
  }

  async isHealthy(): Promise<boolean> {
    return (await fetch(`${endpoints.randomuser.url}/_health`, { signal: AbortSignal.timeout(2000) })).ok;
  }
}

export const randomuser = new RandomuserService();
