import { z } from 'zod';

/** The nationalities randomuser.me serves (API v1.4). */
export const NATIONALITIES = [
  'AU', 'BR', 'CA', 'CH', 'DE', 'DK', 'ES', 'FI', 'FR', 'GB', 'IE',
  'IN', 'IR', 'MX', 'NL', 'NO', 'NZ', 'RS', 'TR', 'UA', 'US',
] as const; // prettier-ignore

const isoDate = z.iso.datetime({ offset: true });
const decimalString = z.string().regex(/^-?\d+(\.\d+)?$/, 'a decimal number as a string');

/**
 * One user as the API sends it, quirks included: a postcode that is a number for most nationalities
 * and a string for others, an id whose value may be null, coordinates and offsets as strings.
 */
export const ApiUser = z.object({
  gender: z.enum(['male', 'female']),
  name: z.object({ title: z.string(), first: z.string().min(1), last: z.string().min(1) }),
  location: z.object({
    street: z.object({ number: z.number().int(), name: z.string().min(1) }),
    city: z.string().min(1),
    state: z.string(),
    country: z.string().min(1),
    postcode: z.union([z.number().int(), z.string()]),
    coordinates: z.object({ latitude: decimalString, longitude: decimalString }),
    timezone: z.object({ offset: z.string().regex(/^[+-]?\d{1,2}:\d{2}$/), description: z.string() }),
  }),
  email: z.string().min(3),
  login: z.object({
    uuid: z.uuid({ version: 'v4' }),
    username: z.string().min(1),
    password: z.string(),
    salt: z.string(),
    md5: z.string(),
    sha1: z.string(),
    sha256: z.string(),
  }),
  dob: z.object({ date: isoDate, age: z.number().int() }),
  registered: z.object({ date: isoDate, age: z.number().int() }),
  phone: z.string(),
  cell: z.string(),
  id: z.object({ name: z.string(), value: z.string().nullable() }),
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
