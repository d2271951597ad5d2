import { endpoints } from '#infra/stack/endpoints.ts';

/** Queues a fault for the next `times` API calls of the stack's randomuser source. */
export async function injectFault(kind: string, times = 1, delayMs = 0): Promise<void> {
  const response = await fetch(`${endpoints.randomuser.url}/_faults`, {
    method: 'POST',
    body: JSON.stringify({ kind, times, delayMs }),
  });
  if (response.status !== 201) throw new Error(`could not inject fault ${kind}: ${response.status}`);
}

/** Clears every queued fault. */
export async function clearFaults(): Promise<void> {
  await fetch(`${endpoints.randomuser.url}/_faults`, { method: 'DELETE' });
}
