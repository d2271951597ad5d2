import { createHash } from 'node:crypto';
import type { RawBatch } from '#lib/batch.ts';
import { userKey } from '#lib/user-key.ts';

/** One row of the users table, in column order (see migrations/postgres). */
export interface UserRow {
  user_key: string;
  source_seed: string;
  source_nats: string;
  source_page: number;
  source_index: number;
  login_uuid: string;
  username: string;
  gender: string;
  title: string;
  first_name: string;
  last_name: string;
  email: string;
  phone: string;
  cell: string;
  date_of_birth: string;
  registered_at: string;
  street_number: number;
  street_name: string;
  city: string;
  state: string;
  country: string;
  postcode: string;
  latitude: string;
  longitude: string;
  timezone_offset: string;
  timezone_description: string;
  national_id_name: string;
  national_id_value: string | null;
  picture_large: string;
  picture_medium: string;
  picture_thumbnail: string;
  nat: string;
  /** Hex sha256 of the content columns; ages are left out, as they change with the calendar. */
  content_hash: string;
  batch_id: string;
}

/** The users table's columns in order, as COPY and the upsert use them. */
export const USER_COLUMNS = [
  'user_key', 'source_seed', 'source_nats', 'source_page', 'source_index', 'login_uuid', 'username',
  'gender', 'title', 'first_name', 'last_name', 'email', 'phone', 'cell', 'date_of_birth',
  'registered_at', 'street_number', 'street_name', 'city', 'state', 'country', 'postcode', 'latitude',
  'longitude', 'timezone_offset', 'timezone_description', 'national_id_name', 'national_id_value',
  'picture_large', 'picture_medium', 'picture_thumbnail', 'nat', 'content_hash', 'batch_id',
] as const satisfies readonly (keyof UserRow)[]; // prettier-ignore

/** Columns that describe the user (not where or when it was fetched): their hash detects a change. */
const CONTENT_COLUMNS = USER_COLUMNS.filter(
  (c) =>
    ![
      'user_key',
      'source_seed',
      'source_nats',
      'source_page',
      'source_index',
      'content_hash',
      'batch_id',
    ].includes(c),
);

/** All of a batch's rows at once (see normalizedRows). */
export function normalizeBatch(batch: RawBatch): UserRow[] {
  return [...normalizedRows(batch)];
}

/**
 * Turns a batch's users into typed rows, one at a time: every address part in its own column, dates
 * as ISO timestamps, postcode as text (a number for some nationalities, a string for others).
 * Lazily, so that persist normalises on one core while PostgreSQL ingests the COPY on the other.
 */
export function* normalizedRows(batch: RawBatch): Generator<UserRow> {
  for (const { page, index, user } of batch.users) {
    const row: Omit<UserRow, 'content_hash'> & { content_hash: string } = {
      user_key: userKey({ seed: batch.seed, nats: batch.nats, page, index }),
      source_seed: batch.seed,
      source_nats: batch.nats.join(','),
      source_page: page,
      source_index: index,
      login_uuid: user.login.uuid,
      username: user.login.username,
      gender: user.gender,
      title: user.name.title,
      first_name: user.name.first,
      last_name: user.name.last,
      email: user.email,
      phone: user.phone,
      cell: user.cell,
      date_of_birth: new Date(user.dob.date).toISOString(),
      registered_at: new Date(user.registered.date).toISOString(),
      street_number: user.location.street.number,
      street_name: user.location.street.name,
      city: user.location.city,
      state: user.location.state,
      country: user.location.country,
      postcode: String(user.location.postcode),
      latitude: Number(user.location.coordinates.latitude).toFixed(4),
      longitude: Number(user.location.coordinates.longitude).toFixed(4),
      timezone_offset: user.location.timezone.offset,
      timezone_description: user.location.timezone.description,
      national_id_name: user.id.name,
      national_id_value: user.id.value,
      picture_large: user.picture.large,
      picture_medium: user.picture.medium,
      picture_thumbnail: user.picture.thumbnail,
      nat: user.nat,
      content_hash: '',
      batch_id: batch.batchId,
    };
    row.content_hash = createHash('sha256')
      .update(CONTENT_COLUMNS.map((column) => String(row[column])).join('\u0000'))
      .digest('hex');
    yield row;
  }
}
