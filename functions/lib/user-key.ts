import { createHash } from 'node:crypto';

/** Namespace of the pipeline's user keys (a random UUID fixed for this project). */
const NAMESPACE = Buffer.from('6f1c2a8e5b3d4e7f9a0b1c2d3e4f5a6b', 'hex');

/**
 * The stable user key: a name-based UUID (version 5, SHA-1, RFC 9562) of the user's place in the
 * source: seed, nationalities, page and index. The source is deterministic for a seed and page, so
 * a replay of the same seed and page reproduces the same keys, whatever the page size.
 *
 * Not `login.uuid` alone: randomuser.me derives it from a 32-bit seed of its generator, so different
 * seeds can yield the same uuid, and nothing stops two batches from sharing one. The uuid is kept as
 * a column all the same.
 */
export function userKey(place: {
  seed: string;
  nats: readonly string[];
  page: number;
  index: number;
}): string {
  const name = `randomuser/v1|${place.seed}|${place.nats.join(',')}|${place.page}|${place.index}`;
  const hash = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
