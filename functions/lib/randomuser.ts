import { z } from 'zod';

/** The nationalities randomuser.me serves (API v1.4). */
export const NATIONALITIES = [
  'AU', 'BR', 'CA', 'CH', 'DE', 'DK', 'ES', 'FI', 'FR', 'GB', 'IE',
  'IN', 'IR', 'MX', 'NL', 'NO', 'NZ', 'RS', 'TR', 'UA', 'US',
] as const; // prettier-ignore

/** Text PostgreSQL can store: no NUL character. */
const text = (min = 0) =>
  z
    .string()
    .min(min)
    .refine((v) => !v.includes('\u0000'), 'text without NUL characters');
/** An ISO timestamp PostgreSQL can store (year 1 or later). */
const isoDate = z.iso.datetime({ offset: true }).refine((d) => !d.startsWith('0000'), 'a year of 1 or later');
/** A coordinate as the API sends it: a decimal string, within the given bound. */
const coordinate = (bound: number) =>
  z
    .string()
    .regex(/^-?\d{1,3}(\.\d+)?$/, 'a decimal number as a string')
    .refine((v) => Math.abs(Number(v)) <= bound, `between -${bound} and ${bound}`);

/**
 * One user as the API sends it, quirks included: a postcode that is a number for most nationalities
 * and a string for others, an id whose value may be null, coordinates and offsets as strings.
 */
export const ApiUser = z.object({
  gender: z.enum(['male', 'female']),
  name: z.object({ title: text(), first: text(1), last: text(1) }),
  location: z.object({
    street: z.object({ number: z.number().int().min(0).max(2_147_483_647), name: text(1) }),
    city: text(1),
    state: text(),
    country: text(1),
    postcode: z.union([z.number().int(), text()]),
    coordinates: z.object({ latitude: coordinate(90), longitude: coordinate(180) }),
    timezone: z.object({ offset: z.string().regex(/^[+-]?\d{1,2}:\d{2}$/), description: text() }),
  }),
  email: text().min(3),
  login: z.object({
    uuid: z.uuid({ version: 'v4' }),
    username: text(1),
    password: text(),
    salt: text(),
    md5: text(),
    sha1: text(),
    sha256: text(),
  }),
  dob: z.object({ date: isoDate, age: z.number().int() }),
  registered: z.object({ date: isoDate, age: z.number().int() }),
  phone: text(),
  cell: text(),
  id: z.object({ name: text(), value: text().nullable() }),
  picture: z.object({ large: z.url(), medium: z.url(), thumbnail: z.url() }),
  nat: z.enum(NATIONALITIES),
});
export type ApiUser = z.infer<typeof ApiUser>;

/** A user as the pipeline keeps it: the API's password, salt and hashes are gone (and refused if present). */
export const SafeUser = ApiUser.extend({
  login: z.strictObject({ uuid: z.uuid(), username: z.string().min(1) }),
});
export type SafeUser = z.infer<typeof SafeUser>;

/** Drops the secret login fields; nothing downstream ever sees them. */
export function withoutSecrets(user: ApiUser): SafeUser {
  const { uuid, username } = user.login;
  return { ...user, login: { uuid, username } };
}

/** The API's response envelope; `results` is checked user by user, so one bad user never hides the rest. */
export const ApiResponse = z.object({
  results: z.array(z.unknown()),
  info: z.object({ seed: z.string(), results: z.number(), page: z.number(), version: z.string() }).optional(),
});
