import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { expect } from 'vitest';
import { awsClients, unique } from './clients.ts';

/** Stores a value in S3, SQS, SSM and Secrets Manager through the AWS SDK and reads each one back. */
export async function roundTripThroughAws(): Promise<void> {
  const { s3, sqs, ssm, secrets } = awsClients();
  const name = unique('smoke').replaceAll('_', '-');
  try {
    await s3.send(new CreateBucketCommand({ Bucket: name }));
    await s3.send(new PutObjectCommand({ Bucket: name, Key: 'raw/batch.json', Body: '{"results":[]}' }));
    const object = await s3.send(new GetObjectCommand({ Bucket: name, Key: 'raw/batch.json' }));
    expect(await object.Body?.transformToString()).toBe('{"results":[]}');

    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
    expect(QueueUrl).toMatch(/^http:\/\/127\.0\.0\.1:4566\//);
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'poison' }));
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));
    expect(received.Messages?.map((m) => m.Body)).toEqual(['poison']);

    await ssm.send(
      new PutParameterCommand({ Name: `/${name}/api-key`, Value: 's3cr3t', Type: 'SecureString' }),
    );
    const parameter = await ssm.send(
      new GetParameterCommand({ Name: `/${name}/api-key`, WithDecryption: true }),
    );
    expect(parameter.Parameter?.Value).toBe('s3cr3t');

    await secrets.send(new CreateSecretCommand({ Name: `${name}/db`, SecretString: '{"password":"p"}' }));
    const secret = await secrets.send(new GetSecretValueCommand({ SecretId: `${name}/db` }));
    expect(secret.SecretString).toBe('{"password":"p"}');
  } finally {
    for (const client of [s3, sqs, ssm, secrets]) client.destroy();
  }
}
