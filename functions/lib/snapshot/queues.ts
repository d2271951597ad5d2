import type { QueueDepth } from '#functions/console/api.ts';
import type { MessageQueue } from '#lib/message-queue.ts';

/** A queue's messages, visible and held by a reader (on SQS one attributes call), shown with its URL. */
export async function queueDepth(queue: Pick<MessageQueue, 'count'>, url: string): Promise<QueueDepth> {
  return { url, ...(await queue.count()) };
}
