import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerAvroSchema } from '#infra/pipeline/schemas.ts';
import { loadSettings, SinkSettings } from '#lib/config.ts';
import { loggableError } from '#lib/errors.ts';
import type { RegistryDeps } from '#lib/schema-registry.ts';

const secretId = 'user-pipeline/aws/schema-registry';
const subject = 'user-pipeline.users-value';
const schema = JSON.stringify({ type: 'record', name: 'Ping', fields: [{ name: 'n', type: 'int' }] });
const credentials = { username: 'PIPELINEKEY42', password: 'S3cr3t:with/odd+chars=' };
const basic = (c: { username: string; password: string }) =>
  `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

/** Every form a credential could leak in: the password, the key, the header and its base64 part. */
const leaks = (c: { username: string; password: string }) => [
  c.password,
  c.username,
  basic(c),
  basic(c).slice('Basic '.length),
];

/** What the fake registry saw of one request. */
interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
}

/**
 * A Confluent-compatible registry on 127.0.0.1 that knows one schema (id 7) and records every request.
 * With `expect`, it answers 401 (as Confluent Cloud does) to any request without that Authorization.
 */
async function fakeRegistry(expectAuthorization?: string) {
  const seen: Seen[] = [];
  const reply = (status: number, body: object) => ({ status, body });
  const answer = (request: IncomingMessage) => {
    const path = request.url ?? '';
    if (expectAuthorization !== undefined && request.headers.authorization !== expectAuthorization)
      return reply(401, { error_code: 401, message: 'Unauthorized' });
    if (request.method === 'GET' && path === `/subjects/${subject}/versions/latest`)
      return reply(200, { subject, version: 1, id: 7, schema });
    if (request.method === 'GET' && path === '/schemas/ids/7') return reply(200, { schema });
    if (request.method === 'PUT' && path === `/config/${subject}`)
      return reply(200, { compatibility: 'BACKWARD' });
    if (request.method === 'GET' && path === `/config/${subject}`)
      return reply(200, { compatibilityLevel: 'BACKWARD' });
    if (request.method === 'POST' && path === `/subjects/${subject}/versions`) return reply(200, { id: 7 });
    return reply(404, { error_code: 40401, message: 'Subject not found' });
  };
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      seen.push({
        method: request.method ?? '',
        path: request.url ?? '',
        authorization: request.headers.authorization,
      });
      const { status, body } = answer(request);
      response.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      response.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/**
 * A real SecretsManagerClient (the SDK's serializer and deserializer run) whose transport answers
 * GetSecretValue with `secretString()` in Secrets Manager's JSON protocol, and counts the reads.
 */
function secretsAnswering(secretString: () => string): { deps: RegistryDeps; reads: string[] } {
  const reads: string[] = [];
  const client = new SecretsManagerClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    maxAttempts: 1,
    requestHandler: {
      handle: (request: { body?: string | Uint8Array }) => {
        const { body: sent = '' } = request;
        reads.push(typeof sent === 'string' ? sent : new TextDecoder().decode(sent));
        const body = JSON.stringify({ Name: secretId, SecretString: secretString() });
        return Promise.resolve({
          response: {
            statusCode: 200,
            headers: { 'content-type': 'application/x-amz-json-1.1' },
            body: Readable.from([Buffer.from(body)]),
          },
        });
      },
    },
  });
  return { deps: { secrets: () => client }, reads };
}

/** The module as a new Lambda container loads it: no registry client yet. */
const freshContainer = async () => {
  vi.resetModules();
  return import('#lib/schema-registry.ts');
};

/** Everything of an error a log line or a caller could see, its causes and their fields included. */
const everythingOf = (error: unknown) =>
  [
    inspect(error, { depth: 10, showHidden: true }),
    JSON.stringify(loggableError(error)),
    error instanceof Error ? String(error.stack) : String(error),
  ].join('\n');

describe('the schema registry client, with basic-auth credentials from Secrets Manager', () => {
  let registry: Awaited<ReturnType<typeof fakeRegistry>>;
  afterEach(async () => {
    await registry.close();
  });

  it('sends the secret as HTTP basic auth on every request, and reads the secret once per container', async () => {
    registry = await fakeRegistry(basic(credentials));
    const { latestEncoder, withRegistry } = await freshContainer();
    const { deps, reads } = secretsAnswering(() => JSON.stringify(credentials));
    const settings = {
      AWS_REGION: 'us-east-1',
      SCHEMA_REGISTRY_URL: registry.url,
      SCHEMA_REGISTRY_CREDENTIALS_SECRET_ID: secretId,
    };

    const { schemaId, encode } = await withRegistry(settings, (r) => latestEncoder(r, subject), deps);
    await withRegistry(settings, (r) => r.getSchema(7), deps);

    expect(schemaId).toBe(7);
    expect(encode({ n: 1 }).subarray(0, 5)).toEqual(Buffer.from([0, 0, 0, 0, 7]));
    expect(registry.seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      `GET /subjects/${subject}/versions/latest`,
      'GET /schemas/ids/7',
    ]);
    for (const seen of registry.seen) expect(seen.authorization, seen.path).toBe(basic(credentials));
    expect(reads).toHaveLength(1);
    expect(JSON.parse(reads[0] ?? '')).toEqual({ SecretId: secretId });
  });

  it('sends no Authorization header and reads no secret when none is named', async () => {
    registry = await fakeRegistry();
    const { latestEncoder, withRegistry } = await freshContainer();
    const { deps, reads } = secretsAnswering(() => JSON.stringify(credentials));

    await withRegistry(
      { AWS_REGION: 'us-east-1', SCHEMA_REGISTRY_URL: registry.url },
      (r) => latestEncoder(r, subject),
      deps,
    );

    expect(registry.seen.length).toBeGreaterThan(0);
    expect(registry.seen.map((s) => s.authorization)).toEqual(registry.seen.map(() => undefined));
    expect(reads).toEqual([]);
  });

  it('fails a refused credential as a configuration error with none of it in the error or the log, and reads the secret again next time', async () => {
    const rotated = { username: 'PIPELINEKEY43', password: 'N3w-s3cr3t/after+rotation' };
    registry = await fakeRegistry(basic(rotated));
    const { latestEncoder, withRegistry } = await freshContainer();
    let current = credentials;
    const { deps, reads } = secretsAnswering(() => JSON.stringify(current));
    const settings = {
      AWS_REGION: 'us-east-1',
      SCHEMA_REGISTRY_URL: registry.url,
      SCHEMA_REGISTRY_CREDENTIALS_SECRET_ID: secretId,
    };

    const error: unknown = await withRegistry(settings, (r) => latestEncoder(r, subject), deps).catch(
      (e: unknown) => e,
    );

    expect(error).toMatchObject({
      kind: 'config',
      message: 'the schema registry refused the credentials (HTTP 401)',
    });
    expect(registry.seen[0]?.authorization).toBe(basic(credentials));
    for (const leak of leaks(credentials)) expect(everythingOf(error)).not.toContain(leak);

    // The key was rotated in the secret: the next invocation reads it again and gets through.
    current = rotated;
    await expect(withRegistry(settings, (r) => latestEncoder(r, subject), deps)).resolves.toMatchObject({
      schemaId: 7,
    });
    expect(reads).toHaveLength(2);
  });

  it('names an unreadable credentials secret, never quoting it', async () => {
    registry = await fakeRegistry();
    for (const [text, message] of [
      [`${credentials.username}:${credentials.password}`, `${secretId} is not JSON`],
      [JSON.stringify({ username: credentials.username, pass: credentials.password }), 'mistypes: password'],
    ] as const) {
      const { withRegistry } = await freshContainer();
      const { deps } = secretsAnswering(() => text);
      const error: unknown = await withRegistry(
        {
          AWS_REGION: 'us-east-1',
          SCHEMA_REGISTRY_URL: registry.url,
          SCHEMA_REGISTRY_CREDENTIALS_SECRET_ID: secretId,
        },
        () => Promise.resolve(),
        deps,
      ).catch((e: unknown) => e);
      expect(error).toMatchObject({ kind: 'config' });
      expect((error as Error).message).toContain(message);
      for (const leak of leaks(credentials)) expect(everythingOf(error), text).not.toContain(leak);
    }
    expect(registry.seen).toEqual([]);
  });
});

describe('schema registration (the bootstraps), with the same credentials', () => {
  let registry: Awaited<ReturnType<typeof fakeRegistry>>;
  afterEach(async () => {
    await registry.close();
  });

  it('sends the Authorization header on the compatibility PUT (plain fetch) and on the registration', async () => {
    registry = await fakeRegistry(basic(credentials));

    const id = await registerAvroSchema({
      registryUrl: registry.url,
      subject,
      schema,
      compatibility: 'BACKWARD',
      credentials,
    });

    expect(id).toBe(7);
    expect(registry.seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      `PUT /config/${subject}`,
      `GET /config/${subject}`,
      `POST /subjects/${subject}/versions`,
    ]);
    for (const seen of registry.seen) expect(seen.authorization, seen.path).toBe(basic(credentials));
  });

  it('reports a refusal by its HTTP status, with no credential in the error', async () => {
    registry = await fakeRegistry(basic({ username: 'someone', password: 'else' }));

    const error: unknown = await registerAvroSchema({
      registryUrl: registry.url,
      subject,
      schema,
      compatibility: 'BACKWARD',
      credentials,
    }).catch((e: unknown) => e);

    expect((error as Error).message).toBe(`the registry refused BACKWARD for ${subject}: HTTP 401`);
    for (const leak of leaks(credentials)) expect(everythingOf(error)).not.toContain(leak);
  });
});

describe('the registry settings', () => {
  beforeEach(() => {
    vi.unstubAllEnvs();
  });

  const sinkEnv = (url: string, secret = '') => ({
    SCHEMA_REGISTRY_URL: url,
    SCHEMA_REGISTRY_CREDENTIALS_SECRET_ID: secret,
    CASSANDRA_CONTACT_POINTS: '127.0.0.1',
    CASSANDRA_LOCAL_DC: 'datacenter1',
    CASSANDRA_KEYSPACE: 'user_pipeline',
    DEAD_LETTER_QUEUE_URL: 'http://127.0.0.1:4566/000000000000/dlq',
  });

  it('takes the credentials secret by name, and an empty name as none', () => {
    expect(
      loadSettings(SinkSettings, sinkEnv('https://psrc-1.confluent.cloud', secretId))
        .SCHEMA_REGISTRY_CREDENTIALS_SECRET_ID,
    ).toBe(secretId);
    expect(
      loadSettings(SinkSettings, sinkEnv('https://psrc-1.confluent.cloud'))
        .SCHEMA_REGISTRY_CREDENTIALS_SECRET_ID,
    ).toBeUndefined();
  });

  it('refuses a registry URL that carries credentials, without quoting them', () => {
    const url = `https://${credentials.username}:${encodeURIComponent(credentials.password)}@psrc-1.confluent.cloud`;
    const error: unknown = (() => {
      try {
        return loadSettings(SinkSettings, sinkEnv(url));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toMatchObject({ kind: 'config' });
    expect((error as Error).message).toContain('SCHEMA_REGISTRY_URL: must carry no credentials');
    for (const leak of [credentials.username, encodeURIComponent(credentials.password)])
      expect(everythingOf(error)).not.toContain(leak);
  });
});
