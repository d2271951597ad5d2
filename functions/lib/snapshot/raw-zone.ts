import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { RawZone } from '#functions/console/api.ts';

/** The object metadata fetch writes with each batch: how many users it holds. */
export const USERS_METADATA = 'users';

/** List pages read per day at most (1,000 keys each): the count stops there and says so. */
const MAX_LIST_PAGES = 10;
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
export function rawZoneReader(s3: () => Pick<S3Client, 'send'>, bucket: string) {
  const usersByObject = new Map<string, number | null>();
  return async (now = new Date()): Promise<RawZone> => {
    const objects: { key: string; etag: string; bytes: number; at: Date }[] = [];
    let truncated = false;
    // fetch names each object by its day (raw/date=YYYY-MM-DD/…): the newest are today's and
    // yesterday's (UTC), listed alone, however many older days the bucket keeps.
    for (const day of [now, new Date(now.getTime() - 86_400_000)]) {
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await s3().send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: `raw/date=${day.toISOString().slice(0, 10)}/`,
            ContinuationToken: token,
          }),
        );
        for (const o of page.Contents ?? []) {
          if (o.Key !== undefined && batchIdOfKey(o.Key) !== undefined)
            objects.push({
              key: o.Key,
              etag: o.ETag ?? '',
              bytes: o.Size ?? 0,
              at: o.LastModified ?? new Date(0),
            });
        }
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
        pages += 1;
      } while (token !== undefined && pages < MAX_LIST_PAGES);
      truncated ||= token !== undefined;
    }
    const newest = objects.sort((a, b) => b.at.getTime() - a.at.getTime()).slice(0, LATEST);
    const latest = await Promise.all(
      newest.map(async (o) => {
        const id = `${o.key}@${o.etag}`;
        let users = usersByObject.get(id);
        if (users === undefined) {
          const head = await s3().send(new HeadObjectCommand({ Bucket: bucket, Key: o.key }));
          const counted = Number(head.Metadata?.[USERS_METADATA]);
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
