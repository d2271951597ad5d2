/** The dead-letter queue as the chaos run reads it: every letter, left in place. */
import { SQSClient } from '@aws-sdk/client-sqs';
import { peekDeadLetters } from '#functions/console/dead-letters.ts';
import { localAwsConfig } from '#infra/stack/local-stage/clients.ts';
import { localQueueUrl, localResources } from '#infra/stack/local-stage/resources.ts';

export interface LetterSummary {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly reason: string;
  readonly failedAt: string;
}

/** Every letter of the local stage's dead-letter queue (at most 100,000). */
export async function readDeadLetters(): Promise<LetterSummary[]> {
  const sqs = new SQSClient(localAwsConfig);
  try {
    const { latest, truncated } = await peekDeadLetters(
      sqs,
      localQueueUrl(localResources.deadLetterQueue),
      100_000,
    );
    if (truncated) throw new Error('the dead-letter queue holds more than 100,000 letters: empty it first');
    return latest;
  } finally {
    sqs.destroy();
  }
}
