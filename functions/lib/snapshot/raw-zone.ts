import type { RawZone } from '#functions/console/api.ts';
import type { RawObject, RawStore } from '#lib/raw-store.ts';

/** The object metadata fetch writes with each batch: how many users it holds. */
export const USERS_METADATA = 'users';

/** Keys listed per day at most (ten S3 list pages): the count stops there and says so. */
const MAX_LISTED = 10_000;
const LATEST = 10;

/** The batch id in a raw key (`raw/date=…/batch=<id>.json`), or undefined for another object. */
export function batchIdOfKey(key: string): string | undefined {
  return /\/batch=([0-9a-f]{32})\.json$/.exec(key)?.[1];
}

/**
 * The raw zone's batches of today and yesterday: counted by listing (never reading an object), the newest ten with their
 * users from the metadata fetch wrote, one HEAD each the first time an object (key and ETag) is seen.
 * Keep one per process.
 */
export function rawZoneReader(store: () => Pick<RawStore, 'list' | 'head'>) {
  const usersByObject = new Map<string, number | null>();
  return async (now = new Date()): Promise<RawZone> => {
    const objects: RawObject[] = [];
    let truncated = false;
    // fetch names each object by its day (raw/date=YYYY-MM-DD/…): the newest are today's and
    // yesterday's (UTC), listed alone, however many older days the bucket keeps.
    for (const day of [now, new Date(now.getTime() - 86_400_000)]) {
      const listed = await store().list(`raw/date=${day.toISOString().slice(0, 10)}/`, MAX_LISTED);
      objects.push(...listed.objects.filter((o) => batchIdOfKey(o.key) !== undefined));
      truncated ||= listed.truncated;
    }
    const newest = objects.sort((a, b) => b.at.getTime() - a.at.getTime()).slice(0, LATEST);
    const latest = await Promise.all(
      newest.map(async (o) => {
        const id = `${o.key}@${o.version}`;
        let users = usersByObject.get(id);
        if (users === undefined) {
          const counted = Number((await store().head(o.key))?.[USERS_METADATA]);
          users = Number.isInteger(counted) ? counted : null;
          usersByObject.set(id, users);
          if (usersByObject.size > 10 * LATEST) usersByObject.delete(usersByObject.keys().next().value ?? '');
        }
        return { key: o.key, users, bytes: o.bytes, at: o.at.toISOString() };
      }),
    );
    return { batches: objects.length, batchesTruncated: truncated, latest };
  };
}
