/** The dead-letter queue as the chaos run reads it: every letter, left in place. */
import { peekDeadLetters } from '#functions/console/dead-letters.ts';
import { localQueue } from '#infra/stack/local-stage/clients.ts';
import { localResources } from '#infra/stack/local-stage/resources.ts';

export interface LetterSummary {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly reason: string;
  readonly failedAt: string;
}

/** Every letter of the local stage's dead-letter queue (at most 100,000). */
export async function readDeadLetters(): Promise<LetterSummary[]> {
  // The local store's folder, where the local stage's sink writes them (README, "The local store").
  const { latest, truncated } = await peekDeadLetters(localQueue(localResources.deadLetterQueue), 100_000);
  if (truncated) throw new Error('the dead-letter queue holds more than 100,000 letters: empty it first');
  return latest;
}
