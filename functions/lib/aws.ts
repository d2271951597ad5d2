import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { lazy } from './once.ts';

/** What the AWS clients need from a function's settings. */
export interface AwsSettings {
  readonly AWS_REGION: string;
  readonly AWS_ENDPOINT_URL?: string | undefined;
}

/** Region, and the emulator's endpoint offline: what every AWS client of the functions is made with. */
export const clientConfig = (settings: AwsSettings) => ({
  region: settings.AWS_REGION,
  ...(settings.AWS_ENDPOINT_URL === undefined ? {} : { endpoint: settings.AWS_ENDPOINT_URL }),
});

/**
 * The S3 client: created on first use and kept for the life of the container, so that its
 * connections are reused across invocations. Path-style addressing when an emulator endpoint is set.
 */
export const s3Client = lazy(
  (settings: AwsSettings) =>
    new S3Client({ ...clientConfig(settings), forcePathStyle: settings.AWS_ENDPOINT_URL !== undefined }),
);

/** The Secrets Manager client, created on first use and kept for the life of the container. */
export const secretsClient = lazy(
  (settings: AwsSettings) => new SecretsManagerClient(clientConfig(settings)),
);

/** The SQS client (the dead-letter queue), created on first use and kept for the life of the container. */
export const sqsClient = lazy((settings: AwsSettings) => new SQSClient(clientConfig(settings)));
