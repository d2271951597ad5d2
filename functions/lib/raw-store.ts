import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
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

/** The S3 raw zone: one JSON object per batch. */
export interface RawStore {
  /** Writes `document` as JSON; `metadata` becomes the object's user metadata (S3's `x-amz-meta-*`). */
  put(key: string, document: unknown, metadata?: Readonly<Record<string, string>>): Promise<void>;
  /** The object's parsed JSON; undefined when there is no such key; `invalid-json` when it is not JSON. */
  get(key: string): Promise<unknown>;
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
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return INVALID_JSON;
      }
    },
  };
}
