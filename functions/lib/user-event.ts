import { z } from 'zod';

const uuid = z.uuid();
const millis = z.number().int().min(-62_135_596_800_000).max(253_402_300_799_999);

/**
 * The user event as it travels on Kafka: the fields of schemas/user-event.avsc, as avsc decodes them
 * (timestamps as epoch milliseconds, uuids as strings). The sink parses every decoded record with it:
 * a record the Avro schema accepts can still break the pipeline's rules (a malformed key, version 0).
 */
export const UserEvent = z.object({
  event_id: uuid,
  event_type: z.enum(['user.created', 'user.updated']),
  user_key: uuid,
  version: z.number().int().min(1),
  updated_at: millis,
  gender: z.string(),
  title: z.string(),
  first_name: z.string(),
  last_name: z.string(),
  username: z.string(),
  login_uuid: uuid,
  email: z.string(),
  phone: z.string(),
  cell: z.string(),
  date_of_birth: millis,
  registered_at: millis,
  street_number: z.number().int(),
  street_name: z.string(),
  city: z.string(),
  state: z.string(),
  country: z.string(),
  postcode: z.string(),
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  timezone_offset: z.string(),
  timezone_description: z.string(),
  national_id_name: z.string(),
  national_id_value: z.string().nullable(),
  picture_large: z.string(),
  picture_medium: z.string(),
  picture_thumbnail: z.string(),
  nat: z.string(),
});
export type UserEvent = z.infer<typeof UserEvent>;

/** The content fields of a user: what PostgreSQL and Cassandra must agree on (the e2e checksum). */
export const userContentFields = [
  'user_key',
  'version',
  'gender',
  'title',
  'first_name',
  'last_name',
  'username',
  'login_uuid',
  'email',
  'phone',
  'cell',
  'date_of_birth',
  'registered_at',
  'street_number',
  'street_name',
  'city',
  'state',
  'country',
  'postcode',
  'latitude',
  'longitude',
  'timezone_offset',
  'timezone_description',
  'national_id_name',
  'national_id_value',
  'picture_large',
  'picture_medium',
  'picture_thumbnail',
  'nat',
] as const satisfies readonly (keyof UserEvent)[];
