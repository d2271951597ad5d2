import type { Part } from '#functions/console/api.ts';

/** How long one part of a snapshot may take before it counts as unreadable. */
export const PART_TIMEOUT_MS = 1500;

/** An error's message for a person: the first line of it and of its cause, never a stack. */
export function describeError(error: unknown): string {
  const messages: string[] = [];
  for (let cause = error, depth = 0; cause !== undefined && depth < 3; depth++) {
    const message =
      cause instanceof Error ? cause.message : typeof cause === 'string' ? cause : JSON.stringify(cause);
    const line = message.split('\n')[0]?.trim() ?? '';
    if (line !== '' && !messages.some((m) => m.includes(line))) messages.push(line);
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return (messages.join(': ') || 'unknown error').slice(0, 300);
}

/** `work`, or a rejection once `timeoutMs` passed without its answer. */
export async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads one part of a snapshot on its own: a failing or slow service gives that part an error and
 * leaves the others whole.
 */
export async function part<T>(read: () => Promise<T>, timeoutMs = PART_TIMEOUT_MS): Promise<Part<T>> {
  const started = performance.now();
  const ms = (): number => Math.round(performance.now() - started);
  try {
    const data = await withTimeout(read(), timeoutMs);
    return { ok: true, data, ms: ms() };
  } catch (error) {
    return { ok: false, error: describeError(error), ms: ms() };
  }
}
