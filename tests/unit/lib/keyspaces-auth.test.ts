import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import cassandraDriver from 'cassandra-driver';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  KeyspacesCredentialsError,
  KeyspacesSigV4AuthProvider,
  keyspacesSignature,
  nonceOf,
  type AwsCredentials,
  type AwsCredentialsProvider,
} from '#lib/keyspaces-auth.ts';

const NONCE = '91703fdc2ef562e19fbdab0f58e42fe5';

/** One connection's exchange, as the driver runs it: the initial response, then the challenge's answer. */
async function signIn(provider: KeyspacesSigV4AuthProvider, challenge = `nonce=${NONCE}`) {
  const authenticator = provider.newAuthenticator();
  const initial = await new Promise<Buffer>((resolve, reject) => {
    authenticator.initialResponse((error: Error | null, response: Buffer) => {
      if (error) reject(error);
      else resolve(response);
    });
  });
  const answer = await new Promise<string>((resolve, reject) => {
    authenticator.evaluateChallenge(Buffer.from(challenge), (error: Error | null, response: Buffer) => {
      if (error) reject(error);
      else resolve(response.toString('utf8'));
    });
  });
  return { initial: initial.toString('utf8'), answer };
}

const accessKeyOf = (answer: string): string | undefined => /access_key=([^,]+)/.exec(answer)?.[1];

describe('the Keyspaces SigV4 signature', () => {
  it("matches aws-sigv4-auth-cassandra-plugin's documented example", () => {
    expect(
      keyspacesSignature({
        region: 'us-west-2',
        nonce: NONCE,
        date: new Date(1591742511000),
        credentials: { accessKeyId: 'UserID-1', secretAccessKey: 'UserSecretKey-1' },
      }),
    ).toBe(
      'signature=7f3691c18a81b8ce7457699effbfae5b09b4e0714ab38c1292dbdf082c9ddd87,access_key=UserID-1,amzdate=2020-06-09T22:41:51.000Z',
    );
  });

  it("matches the plugin's signature with a session token and milliseconds (computed with its 1.0.5)", () => {
    expect(
      keyspacesSignature({
        region: 'eu-west-1',
        nonce: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
        date: new Date(Date.UTC(2026, 11, 1, 9, 30, 15, 123)),
        credentials: {
          accessKeyId: 'ASIAEXAMPLEKEY',
          secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
          sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLETOKEN',
        },
      }),
    ).toBe(
      'signature=368b55cd3b2b6669bc3796bc937ec48ccce6757181ea5162021770f6bc21ec2c,access_key=ASIAEXAMPLEKEY,amzdate=2026-12-01T09:30:15.123Z,session_token=IQoJb3JpZ2luX2VjEXAMPLETOKEN',
    );
  });

  it('reads the nonce from the challenge', () => {
    expect(nonceOf(Buffer.from(`nonce=${NONCE}`))).toBe(NONCE);
    expect(nonceOf(Buffer.from(`nonce=${NONCE},other=1`))).toBe(NONCE);
    expect(nonceOf(Buffer.from('something else'))).toBeUndefined();
  });
});

describe('the Keyspaces SigV4 auth provider', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
  });

  it("is an AuthProvider the driver accepts (it checks the runtime class, which its types don't declare)", async () => {
    const authProvider = new KeyspacesSigV4AuthProvider({ region: 'eu-west-1' });
    expect(authProvider).toBeInstanceOf(
      (cassandraDriver.auth as unknown as { AuthProvider: new () => object }).AuthProvider,
    );
    const client = new cassandraDriver.Client({
      contactPoints: ['cassandra.eu-west-1.amazonaws.com'],
      localDataCenter: 'eu-west-1',
      authProvider,
    });
    await client.shutdown();
  });

  it('waits for credentials that need a round trip, and asks again for every new connection', async () => {
    let calls = 0;
    const roundTrip: AwsCredentialsProvider = () =>
      new Promise<AwsCredentials>((resolve) => {
        calls++;
        setTimeout(() => {
          resolve({ accessKeyId: `ASIAROUNDTRIP${calls}`, secretAccessKey: 'secret', sessionToken: 'token' });
        }, 20);
      });
    const date = new Date(Date.UTC(2026, 11, 1, 9, 30, 15, 123));
    const provider = new KeyspacesSigV4AuthProvider({
      region: 'eu-west-1',
      credentials: roundTrip,
      now: () => date,
    });
    const first = await signIn(provider);
    expect(first.initial).toBe('SigV4\0\0');
    expect(first.answer).toBe(
      keyspacesSignature({
        region: 'eu-west-1',
        nonce: NONCE,
        date,
        credentials: { accessKeyId: 'ASIAROUNDTRIP1', secretAccessKey: 'secret', sessionToken: 'token' },
      }),
    );
    expect(accessKeyOf((await signIn(provider)).answer)).toBe('ASIAROUNDTRIP2');
    expect(calls).toBe(2);
  });

  it("fails the connection's authentication when there are no credentials, with the provider's error as cause", async () => {
    const missing = new Error('Could not load credentials from any providers');
    const provider = new KeyspacesSigV4AuthProvider({
      region: 'eu-west-1',
      credentials: () => Promise.reject(missing),
    });
    const failure = await signIn(provider).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(KeyspacesCredentialsError);
    expect((failure as Error).cause).toBe(missing);
    await expect(signIn(provider, 'no nonce here')).rejects.toThrow(/carries no nonce/);
  });

  it('by default signs with the AWS SDK v3 chain, refreshing the credentials before they expire', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-01T09:00:00.000Z'));
    vi.stubEnv('AWS_PROFILE', '');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAFIRST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'first-secret');
    vi.stubEnv('AWS_SESSION_TOKEN', 'first-token');
    vi.stubEnv('AWS_CREDENTIAL_EXPIRATION', '2026-12-01T09:15:00.000Z');
    const provider = new KeyspacesSigV4AuthProvider({ region: 'eu-west-1' });
    expect((await signIn(provider)).answer).toMatch(
      /^signature=[0-9a-f]{64},access_key=ASIAFIRST,amzdate=2026-12-01T09:00:00.000Z,session_token=first-token$/,
    );

    // The role's credentials rotate (in Lambda: a new environment; elsewhere: a new session).
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIASECOND');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'second-secret');
    vi.stubEnv('AWS_SESSION_TOKEN', 'second-token');
    vi.stubEnv('AWS_CREDENTIAL_EXPIRATION', '2026-12-01T10:15:00.000Z');
    vi.setSystemTime(new Date('2026-12-01T09:05:00.000Z'));
    // Still ten minutes to go: the kept credentials, no round trip.
    expect(accessKeyOf((await signIn(provider)).answer)).toBe('ASIAFIRST');

    // Within five minutes of expiry: fetched again in the background while the old ones still sign.
    vi.setSystemTime(new Date('2026-12-01T09:11:00.000Z'));
    await signIn(provider);
    await new Promise((resolve) => setImmediate(resolve));
    const refreshed = (await signIn(provider)).answer;
    expect(accessKeyOf(refreshed)).toBe('ASIASECOND');
    expect(refreshed).toMatch(/session_token=second-token$/);
  });

  it("signs with container credentials fetched over HTTP, as CloudShell's are", async () => {
    let requests = 0;
    const server: Server = createServer((request, response) => {
      requests++;
      const authorized = request.headers.authorization === 'container-token';
      response.writeHead(authorized ? 200 : 403, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          AccessKeyId: 'ASIACONTAINER',
          SecretAccessKey: 'container-secret',
          Token: 'container-session',
          Expiration: new Date(Date.now() + 3_600_000).toISOString(),
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'])
        vi.stubEnv(name, '');
      vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/config');
      vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/credentials');
      vi.stubEnv('AWS_CONTAINER_CREDENTIALS_FULL_URI', `http://127.0.0.1:${port}/latest/meta-data/container`);
      vi.stubEnv('AWS_CONTAINER_AUTHORIZATION_TOKEN', 'container-token');
      const provider = new KeyspacesSigV4AuthProvider({ region: 'eu-west-1' });
      expect((await signIn(provider)).answer).toMatch(
        /,access_key=ASIACONTAINER,amzdate=[^,]+,session_token=container-session$/,
      );
      await signIn(provider);
      // Kept until it nears expiry: one round trip for both connections.
      expect(requests).toBe(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
