import type { ServiceProbe } from '#functions/console/api.ts';
import { describeError, PART_TIMEOUT_MS, withTimeout } from './part.ts';

/** One cheap call per dependency: what the console's Services panel shows. */
export type Probes = Partial<Record<ServiceProbe['name'], () => Promise<unknown>>>;

/** Runs every probe at once, timed; each is up when its call answers within the timeout. */
export async function probeServices(probes: Probes, timeoutMs = PART_TIMEOUT_MS): Promise<ServiceProbe[]> {
  return Promise.all(
    Object.entries(probes).map(async ([key, probe]): Promise<ServiceProbe> => {
      const name = key as ServiceProbe['name'];
      const started = performance.now();
      try {
        await withTimeout(probe(), timeoutMs);
        return { name, up: true, latencyMs: Math.round(performance.now() - started) };
      } catch (error) {
        return { name, up: false, latencyMs: null, error: describeError(error) };
      }
    }),
  );
}
