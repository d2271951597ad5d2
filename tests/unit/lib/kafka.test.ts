import { Readable } from 'node:stream';
import { KafkaClient } from '@aws-sdk/client-kafka';
import type { SASLOptions } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KafkaSettings, MskDeps } from '#lib/kafka.ts';

const clusterArn =
  'arn:aws:kafka:eu-west-1:123456789012:cluster/user-pipeline-aws/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0-s1';
const iamBrokers =
  'boot-abcd1234.c1.kafka-serverless.eu-west-1.amazonaws.com:9098,boot-efgh5678.c2.kafka-serverless.eu-west-1.amazonaws.com:9098';

/** What the fake MSK endpoint saw. */
interface Seen {
  method: string;
  path: string;
}

/**
 * A real KafkaClient (the SDK's serializer, signer and deserializer all run) whose transport is a
 * function: it answers what MSK's GetBootstrapBrokers would, in its REST-JSON wire format (camelCase
 * member names), and records each request.
 */
function mskClientAnswering(status: number, body: object, seen: Seen[]): KafkaClient {
  return new KafkaClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    maxAttempts: 1,
    requestHandler: {
      handle: (request: { method: string; path: string }) => {
        seen.push({ method: request.method, path: request.path });
        return Promise.resolve({
          response: {
            statusCode: status,
            headers: { 'content-type': 'application/json' },
            body: Readable.from([Buffer.from(JSON.stringify(body))]),
          },
        });
      },
    },
  });
}

/** The module as a new Lambda container loads it: nothing discovered yet. */
const freshContainer = async () => {
  vi.resetModules();
  return import('#lib/kafka.ts');
};

const aws: KafkaSettings = { AWS_REGION: 'eu-west-1', MSK_CLUSTER_ARN: clusterArn };

describe('Kafka connection: MSK with IAM, or the configured brokers', () => {
  let seen: Seen[];
  let signed: { region: string }[];
  const sign: MskDeps['sign'] = (options) => {
    signed.push(options);
    return Promise.resolve({ token: `token-${signed.length}` });
  };

  beforeEach(() => {
    seen = [];
    signed = [];
  });

  it('discovers the IAM brokers with one GetBootstrapBrokers per container, and connects over TLS with OAUTHBEARER', async () => {
    const { kafkaConnection } = await freshContainer();
    const client = mskClientAnswering(200, { bootstrapBrokerStringSaslIam: iamBrokers }, seen);
    const deps: MskDeps = { client: () => client, sign };

    const first = await kafkaConnection(aws, deps);
    const second = await kafkaConnection(aws, deps);

    expect(seen).toEqual([
      { method: 'GET', path: `/v1/clusters/${encodeURIComponent(clusterArn)}/bootstrap-brokers` },
    ]);
    expect(second).toBe(first);
    expect(first.brokers).toEqual(iamBrokers.split(','));
    expect(first.ssl).toBe(true);
    expect(first.sasl?.mechanism).toBe('oauthbearer');
  });

  it("signs a fresh token for the cluster's region on every authentication", async () => {
    const { kafkaConnection } = await freshContainer();
    const client = mskClientAnswering(200, { bootstrapBrokerStringSaslIam: iamBrokers }, seen);
    const { sasl } = await kafkaConnection(aws, { client: () => client, sign });
    const provider = (sasl as Extract<SASLOptions, { mechanism: 'oauthbearer' }>).oauthBearerProvider;

    expect(await provider()).toEqual({ value: 'token-1' });
    expect(await provider()).toEqual({ value: 'token-2' });
    expect(signed).toEqual([{ region: 'eu-west-1' }, { region: 'eu-west-1' }]);
  });

  it('asks again in the next invocation when discovery failed, instead of keeping the failure', async () => {
    const { kafkaConnection } = await freshContainer();
    const failing = mskClientAnswering(503, { message: 'Service unavailable' }, seen);
    await expect(kafkaConnection(aws, { client: () => failing, sign })).rejects.toMatchObject({
      kind: 'transient',
    });

    const working = mskClientAnswering(200, { bootstrapBrokerStringSaslIam: iamBrokers }, seen);
    await expect(kafkaConnection(aws, { client: () => working, sign })).resolves.toMatchObject({
      brokers: iamBrokers.split(','),
    });
    expect(seen).toHaveLength(2);
  });

  it('refuses a cluster without IAM-authenticated brokers as a configuration error', async () => {
    const { kafkaConnection } = await freshContainer();
    const client = mskClientAnswering(200, { bootstrapBrokerStringTls: 'b-1.example:9094' }, seen);
    await expect(kafkaConnection(aws, { client: () => client, sign })).rejects.toMatchObject({
      kind: 'config',
    });
  });

  it('uses the configured brokers as they are, in plaintext, with no AWS call, when no cluster ARN is set', async () => {
    const { kafkaConnection } = await freshContainer();
    const connection = await kafkaConnection(
      { AWS_REGION: 'us-east-1', KAFKA_BROKERS: ['127.0.0.1:9092'] },
      {
        client: () => {
          throw new Error('no AWS call offline');
        },
        sign,
      },
    );
    expect(connection).toEqual({ brokers: ['127.0.0.1:9092'] });
    expect(signed).toEqual([]);
  });
});

describe('the MSK IAM signer, as the functions use it by default', () => {
  beforeEach(() => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY');
    vi.stubEnv('AWS_SESSION_TOKEN', 'session-token');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("signs, offline, a kafka-cluster:Connect URL with the role's credentials for the region", async () => {
    const { mskIamSasl } = await freshContainer();
    const { generateAuthToken } = await import('aws-msk-iam-sasl-signer-js');
    const sasl = mskIamSasl('eu-west-1', generateAuthToken) as Extract<
      SASLOptions,
      { mechanism: 'oauthbearer' }
    >;
    const { value } = await sasl.oauthBearerProvider();
    const url = new URL(Buffer.from(value, 'base64url').toString('utf8'));

    expect(url.host).toBe('kafka.eu-west-1.amazonaws.com');
    expect(url.searchParams.get('Action')).toBe('kafka-cluster:Connect');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(
      /^AKIDEXAMPLE\/\d{8}\/eu-west-1\/kafka-cluster\//,
    );
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe('session-token');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });
});
