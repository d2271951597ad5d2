import { sleep } from './process.ts';

/**
 * Polls `probe` until it resolves true or `timeoutMs` passes. A probe that throws counts as "not
 * yet"; its last error is returned so that a timeout can say why.
 */
export async function waitUntil(
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; stopEarly?: () => Promise<string | undefined> },
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const deadline = Date.now() + options.timeoutMs;
  let reason = 'timed out';
  for (;;) {
    try {
      if (await probe()) return { ok: true };
      reason = 'not ready yet';
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error);
    }
    const fatal = await options.stopEarly?.();
    if (fatal !== undefined) return { ok: false, reason: fatal };
    if (Date.now() >= deadline) return { ok: false, reason };
    await sleep(options.intervalMs ?? 500);
  }
}
