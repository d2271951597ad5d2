/**
 * Waits the command-line tools share (the benchmark, the chaos run): until the sink and the Spark job
 * have committed everything in the users topic.
 */
import type { Admin } from 'kafkajs';
import { waitUntil } from '#infra/stack/lib/wait.ts';
import { localResources } from '#infra/stack/local-stage/resources.ts';
import { consumerLag } from '#lib/snapshot/topic.ts';

/** Waits until a consumer group has committed everything in the users topic; false on timeout. */
export async function caughtUp(admin: Admin, groupId: string, timeoutMs: number): Promise<boolean> {
  return (
    await waitUntil(async () => (await consumerLag(admin, groupId, localResources.usersTopic)) === 0, {
      timeoutMs,
      intervalMs: 250,
    })
  ).ok;
}

/** Waits until every Spark query has committed the whole topic: the groups still behind after `timeoutMs` each. */
export async function sparkCaughtUp(admin: Admin, timeoutMs = 5 * 60_000): Promise<string[]> {
  const behind: string[] = [];
  for (const group of localResources.sparkConsumerGroups) {
    if (!(await caughtUp(admin, group, timeoutMs))) behind.push(group);
  }
  return behind;
}
