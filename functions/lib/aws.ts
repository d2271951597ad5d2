import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';

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

let s3: S3Client | undefined;
let secrets: SecretsManagerClient | undefined;
let sqs: SQSClient | undefined;

/**
 * The S3 client: created on first use and kept for the life of the container, so that its
 * connections are reused across invocations. Path-style addressing when an emulator endpoint is set.
 */
export function s3Client(settings: AwsSettings): S3Client {
  s3 ??= new S3Client({ ...clientConfig(settings), forcePathStyle: settings.AWS_ENDPOINT_URL !== undefined });
  return s3;
}

/** The Secrets Manager client, created on first use and kept for the life of the container. */
export function secretsClient(settings: AwsSettings): SecretsManagerClient {
  secrets ??= new SecretsManagerClient(clientConfig(settings));
  return secrets;
}

/** The SQS client (the dead-letter queue), created on first use and kept for the life of the container. */
export function sqsClient(settings: AwsSettings): SQSClient {
  sqs ??= new SQSClient(clientConfig(settings));
  return sqs;
}
