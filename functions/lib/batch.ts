import { z } from 'zod';
import { NATIONALITIES, SafeUser } from './randomuser.ts';

/** Format tag of a raw batch object; persist refuses anything else. */
export const RAW_BATCH_FORMAT = 'user-pipeline/raw-batch@1';

/**
 * A batch in the S3 raw zone, written by fetch and read by persist. Each user keeps its place in the
 * source (seed, nationalities, page, index): that place is the user's identity (see user-key.ts).
 */
export const RawBatch = z.object({
  format: z.literal(RAW_BATCH_FORMAT),
  batchId: z.string().regex(/^[0-9a-f]{32}$/),
  seed: z.string().min(1),
  nats: z.array(z.enum(NATIONALITIES)),
  requested: z.number().int().positive(),
  pageSize: z.number().int().min(1).max(5000),
  source: z.string(),
  fetchedAt: z.iso.datetime(),
  users: z
    .array(z.object({ page: z.number().int().min(1), index: z.number().int().min(0), user: SafeUser }))
    .refine(
      (users) => new Set(users.map((u) => `${u.page}/${u.index}`)).size === users.length,
      'each (page, index) must appear once: it is the user identity',
    ),
  rejected: z.array(z.object({ page: z.number().int(), index: z.number().int(), reason: z.string() })),
});
export type RawBatch = z.infer<typeof RawBatch>;
