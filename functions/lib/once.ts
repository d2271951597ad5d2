/** A value created on its first call and then kept; `reset` forgets it. */
export interface Lazy<A extends readonly unknown[], T> {
  /** The kept value, or a new one created from these arguments when none is kept. */
  (...args: A): T;
  /** Forgets the kept value, so that the next call creates a new one; returns what it forgot. */
  reset(): T | undefined;
}

/**
 * One client per container, created lazily: the first call runs `create` and every later call gets
 * what it returned, across invocations, for as long as the container lives. Lambda freezes a
 * container between invocations and thaws it with its memory intact, so a pool, a producer or a
 * session made once keeps its connections, discovered metadata and prepared state; connecting and
 * disconnecting per message or per invocation would pay those round trips every time.
 *
 * - Concurrent first calls share one creation: the promise is kept as soon as `create` returns it.
 * - A failed creation is not kept: a promise that rejects, or a `create` that throws, leaves nothing
 *   behind, so the next call (usually the next invocation) tries again.
 * - `reset()` forgets the value on purpose (a producer after a failed send); the caller closes it.
 *
 * The arguments of the call that creates are the ones used; a later call's are not looked at, since
 * a container has one configuration.
 */
export function lazy<A extends readonly unknown[], T>(create: (...args: A) => T): Lazy<A, T> {
  // Boxed, so that a kept `undefined` is still a value and a late rejection can tell whether the
  // box it belongs to is still the kept one (a reset may have replaced it meanwhile).
  let kept: { readonly value: T } | undefined;
  const get = (...args: A): T => {
    if (kept !== undefined) return kept.value;
    const box = { value: create(...args) };
    kept = box;
    if (box.value instanceof Promise) {
      box.value.catch(() => {
        if (kept === box) kept = undefined;
      });
    }
    return box.value;
  };
  const reset = (): T | undefined => {
    const forgotten = kept;
    kept = undefined;
    return forgotten?.value;
  };
  return Object.assign(get, { reset });
}
