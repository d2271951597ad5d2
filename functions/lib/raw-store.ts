import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { TEMP_SUFFIX, writeFileAtomic } from './atomic-file.ts';
import { clientConfig, type AwsSettings } from './aws.ts';
import { TransientError } from './errors.ts';
import { lazy } from './once.ts';

/**
 * The S3 client: created on first use and kept for the life of the container, so that its
 * connections are reused across invocations. Path-style addressing when an emulator endpoint is set.
 */
export const s3Client = lazy(
  (settings: AwsSettings) =>
    new S3Client({ ...clientConfig(settings), forcePathStyle: settings.AWS_ENDPOINT_URL !== undefined }),
);

/** One object of the raw zone as a listing shows it. */
export interface RawObject {
  readonly key: string;
  /** Changes when the object is written again (S3's ETag; the file's modification time). */
  readonly version: string;
  readonly bytes: number;
  readonly at: Date;
}

/**
 * The raw zone: one JSON object per batch, and the source a batch is persisted (again) from. On S3
 * (the aws stage), or in a folder on the local stage (directoryRawStore: the AWS emulator keeps nothing
 * across a restart).
 */
export interface RawStore {
  /** Writes `document` as JSON; `metadata` becomes the object's user metadata (S3's `x-amz-meta-*`). */
  put(key: string, document: unknown, metadata?: Readonly<Record<string, string>>): Promise<void>;
  /** The object's parsed JSON; undefined when there is no such key; `invalid-json` when it is not JSON. */
  get(key: string): Promise<unknown>;
  /** The object's metadata; undefined when there is no such key. */
  head(key: string): Promise<Readonly<Record<string, string>> | undefined>;
  /** Up to `maxKeys` objects whose key starts with `prefix`; `truncated` when there are more. */
  list(prefix: string, maxKeys: number): Promise<{ objects: RawObject[]; truncated: boolean }>;
}

/** Marks an object that exists but does not hold JSON. */
export const INVALID_JSON = Symbol('invalid-json');

/** The raw zone on S3 (LocalStack offline). S3 failures become TransientErrors. */
export function s3RawStore(client: Pick<S3Client, 'send'>, bucket: string): RawStore {
  return {
    async put(key, document, metadata) {
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: JSON.stringify(document),
            ContentType: 'application/json',
            ...(metadata === undefined ? {} : { Metadata: { ...metadata } }),
          }),
        );
      } catch (error) {
        throw new TransientError(`could not write s3://${bucket}/${key}`, { cause: error });
      }
    },
    async get(key) {
      let text: string;
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        text = (await object.Body?.transformToString('utf8')) ?? '';
      } catch (error) {
        if (error instanceof NoSuchKey) return undefined;
        throw new TransientError(`could not read s3://${bucket}/${key}`, { cause: error });
      }
      return parsedOrInvalid(text);
    },
    async head(key) {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return head.Metadata ?? {};
      } catch (error) {
        if (error instanceof NotFound || error instanceof NoSuchKey) return undefined;
        throw error;
      }
    },
    async list(prefix, maxKeys) {
      const objects: RawObject[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) {
          if (o.Key === undefined) continue;
          objects.push({
            key: o.Key,
            version: o.ETag ?? '',
            bytes: o.Size ?? 0,
            at: o.LastModified ?? new Date(0),
          });
        }
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined && objects.length < maxKeys);
      return {
        objects: objects.slice(0, maxKeys),
        truncated: token !== undefined || objects.length > maxKeys,
      };
    },
  };
}

function parsedOrInvalid(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return INVALID_JSON;
  }
}

/** What a document's metadata file is called: `<key>.metadata.json`, beside the document. */
const METADATA_SUFFIX = '.metadata.json';

/**
 * No such file, and none can be there: a name too long for the file system (S3 takes keys up to 1,024
 * bytes and answers them NoSuchKey), or a path through a file. Answered as S3 answers a missing key.
 */
const isMissing = (error: unknown): boolean =>
  ['ENOENT', 'ENOTDIR', 'ENAMETOOLONG'].includes((error as NodeJS.ErrnoException | null)?.code ?? '');

/**
 * The raw zone in a folder (the local stage): the document at `<dir>/<key>`, its metadata as JSON at
 * `<dir>/<key>.metadata.json`. Both are written atomically, the metadata first: a document that is
 * there is whole, and so is its metadata. It survives any restart of the stack's services.
 */
export function directoryRawStore(dir: string): RawStore {
  const fileOf = (key: string): string => {
    const file = path.resolve(dir, key);
    // A key is a path below the folder, never above it, and never a metadata file's name.
    if (!file.startsWith(`${path.resolve(dir)}${path.sep}`) || key.endsWith(METADATA_SUFFIX)) {
      throw new Error(`not a raw zone key: ${key}`);
    }
    return file;
  };
  return {
    async put(key, document, metadata) {
      const file = fileOf(key);
      try {
        await writeFileAtomic(`${file}${METADATA_SUFFIX}`, JSON.stringify(metadata ?? {}));
        await writeFileAtomic(file, JSON.stringify(document));
      } catch (error) {
        throw new TransientError(`could not write ${file}`, { cause: error });
      }
    },
    async get(key) {
      try {
        return parsedOrInvalid(await readFile(fileOf(key), 'utf8'));
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw new TransientError(`could not read ${fileOf(key)}`, { cause: error });
      }
    },
    async head(key) {
      const file = fileOf(key);
      try {
        await stat(file);
        return JSON.parse(await readFile(`${file}${METADATA_SUFFIX}`, 'utf8')) as Record<string, string>;
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },
    async list(prefix, maxKeys) {
      // The folder the prefix names (S3's prefixes need not end at a `/`), walked below it.
      const base = path.join(dir, prefix.slice(0, prefix.lastIndexOf('/') + 1));
      let entries: Dirent[];
      try {
        entries = await readdir(base, { recursive: true, withFileTypes: true });
      } catch (error) {
        if (isMissing(error)) return { objects: [], truncated: false };
        throw error;
      }
      const keys = entries
        .filter((entry) => entry.isFile())
        .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
        .filter(
          (key) => key.startsWith(prefix) && !key.endsWith(METADATA_SUFFIX) && !key.endsWith(TEMP_SUFFIX),
        )
        .sort();
      const objects: RawObject[] = [];
      for (const key of keys.slice(0, maxKeys)) {
        // Gone since the listing (a `stack reset`): left out, as S3 would.
        const info = await stat(path.join(dir, key)).catch(() => undefined);
        if (info === undefined) continue;
        objects.push({ key, version: String(info.mtimeMs), bytes: info.size, at: info.mtime });
      }
      return { objects, truncated: keys.length > maxKeys };
    },
  };
}

/** What choosing a raw zone needs from a function's settings. */
export interface RawZoneSettings extends AwsSettings {
  readonly RAW_BUCKET: string;
  /** The local stage's durable store (config.ts): the raw zone is then `<LOCAL_STORE_DIR>/<RAW_BUCKET>`. */
  readonly LOCAL_STORE_DIR?: string | undefined;
}

/** The raw zone a function's settings name: the folder when LOCAL_STORE_DIR is set, else the S3 bucket. */
export function rawStoreOf(settings: RawZoneSettings): RawStore {
  return settings.LOCAL_STORE_DIR === undefined
    ? s3RawStore(s3Client(settings), settings.RAW_BUCKET)
    : directoryRawStore(path.join(settings.LOCAL_STORE_DIR, settings.RAW_BUCKET));
}
