import { z } from 'zod';
import { NATIONALITIES } from '#lib/randomuser.ts';

const known = new Set<string>(NATIONALITIES);

/** The randomuser API serves pages 1 to 10,000 of a seed. */
export const MAX_PAGE = 10_000;

/**
 * POST /fetch body: how many users, and optionally the seed to replay, the nationalities, and the
 * page. With `page`, the batch is that one page of the seed, of `count` users (a chunk of a bigger
 * run: the DAG asks for pages 1, 2, 3 … of its seed); without it, pages from the first.
 */
export const FetchRequest = z.strictObject({
  count: z.number().int('count must be a whole number').positive('count must be at least 1'),
  page: z
    .number()
    .int('page must be a whole number')
    .min(1, 'page must be at least 1')
    .max(MAX_PAGE, `page must be at most ${MAX_PAGE}`)
    .optional(),
  seed: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'seed must be 1 to 64 letters, digits, _ or -')
    .optional(),
  /** "GB,FR" or ["GB", "FR"], any case. */
  nat: z
    .union([z.string(), z.array(z.string())])
    .transform((value) =>
      (Array.isArray(value) ? value : value.split(',')).map((n) => n.trim().toUpperCase()),
    )
    .refine(
      (nats) => nats.length > 0 && nats.every((n) => n !== ''),
      'nat must name at least one nationality',
    )
    .superRefine((nats, ctx) => {
      const unknown = nats.filter((n) => !known.has(n));
      if (unknown.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown nationality ${unknown.join(', ')}; known: ${NATIONALITIES.join(', ')}`,
        });
      }
    })
    .optional(),
});
export type FetchRequest = z.infer<typeof FetchRequest>;
