-- Up Migration

-- One row per user, keyed by a stable user key (see functions/lib/user-key.ts): a replay of the
-- same seed and page upserts the same rows. Every address part, date and id has its own column.
CREATE TABLE users (
  user_key uuid PRIMARY KEY,
  source_seed text NOT NULL,
  source_nats text NOT NULL,
  source_page integer NOT NULL,
  source_index integer NOT NULL,
  login_uuid uuid NOT NULL,
  username text NOT NULL,
  gender text NOT NULL,
  title text NOT NULL,
  first_name text NOT NULL,
  last_name text NOT NULL,
  email text NOT NULL,
  phone text NOT NULL,
  cell text NOT NULL,
  date_of_birth timestamptz NOT NULL,
  registered_at timestamptz NOT NULL,
  street_number integer NOT NULL,
  street_name text NOT NULL,
  city text NOT NULL,
  state text NOT NULL,
  country text NOT NULL,
  postcode text NOT NULL,
  latitude numeric(7, 4) NOT NULL,
  longitude numeric(7, 4) NOT NULL,
  timezone_offset text NOT NULL,
  timezone_description text NOT NULL,
  national_id_name text NOT NULL,
  national_id_value text,
  picture_large text NOT NULL,
  picture_medium text NOT NULL,
  picture_thumbnail text NOT NULL,
  nat text NOT NULL,
  -- sha256 of the user's content (ages excluded: they change with the calendar, not the user).
  content_hash bytea NOT NULL,
  -- Bumped on every content change; events carry it, so that consumers keep the newest.
  version integer NOT NULL DEFAULT 1,
  batch_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The transactional outbox: written in the same transaction as the users it announces; the publish
-- function relays it to Kafka and marks rows published once the broker acknowledged them.
CREATE TABLE outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
  event_type text NOT NULL CHECK (event_type IN ('user.created', 'user.updated')),
  user_key uuid NOT NULL REFERENCES users (user_key),
  user_version integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);

CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- Down Migration

DROP TABLE outbox;
DROP TABLE users;
