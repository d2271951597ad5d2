import { describe, expect, it } from 'vitest';
import { normalizeBatch } from '#functions/persist/normalize.ts';
import { userKey } from '#lib/user-key.ts';
import { fixtureBatch } from '#tests/support/batches.ts';

describe('userKey', () => {
  it('is a version-5 UUID of the place in the source, the same on every replay', () => {
    const key = userKey({ seed: 's', nats: ['GB'], page: 2, index: 7 });
    expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(userKey({ seed: 's', nats: ['GB'], page: 2, index: 7 })).toBe(key);
  });

  it('differs for another seed, nationality set, page or index', () => {
    const base = { seed: 's', nats: ['GB'], page: 2, index: 7 };
    const keys = [
      userKey(base),
      userKey({ ...base, seed: 't' }),
      userKey({ ...base, nats: ['FR'] }),
      userKey({ ...base, page: 3 }),
      userKey({ ...base, index: 8 }),
    ];
    expect(new Set(keys).size).toBe(5);
  });
});

describe('normalizeBatch', () => {
  const [us, gb, ir, ua] = normalizeBatch(fixtureBatch());

  it('puts every address part in its own column, dates as timestamps, postcode as text', () => {
    expect(us).toMatchObject({
      street_number: 4207,
      street_name: 'Pecan Acres Ln',
      city: 'Tulsa',
      state: 'Oklahoma',
      country: 'United States',
      postcode: '74103',
      latitude: '36.1540',
      longitude: '-95.9928',
      timezone_offset: '-6:00',
      date_of_birth: '1971-03-15T09:20:11.402Z',
      registered_at: '2009-11-02T17:45:30.118Z',
      national_id_name: 'SSN',
      national_id_value: '532-61-7740',
      source_page: 1,
      source_index: 0,
    });
    expect(gb?.postcode).toBe('BA1 5LR');
    expect(ir).toMatchObject({ national_id_name: '', national_id_value: null, first_name: 'آرین' });
    expect(ua?.last_name).toBe('Шевченко');
  });

  it('hashes content so that ages, which move with the calendar, change nothing, and a real change does', () => {
    const batch = fixtureBatch();
    const older = fixtureBatch({
      users: batch.users.map((u) => ({
        ...u,
        user: { ...u.user, dob: { ...u.user.dob, age: u.user.dob.age + 1 } },
      })),
    });
    const moved = fixtureBatch({
      users: batch.users.map((u) => ({
        ...u,
        user: { ...u.user, location: { ...u.user.location, city: 'Elsewhere' } },
      })),
    });
    const hashes = (b: typeof batch) => normalizeBatch(b).map((r) => r.content_hash);
    expect(hashes(older)).toEqual(hashes(batch));
    expect(hashes(moved).every((h, i) => h !== hashes(batch)[i])).toBe(true);
  });
});
