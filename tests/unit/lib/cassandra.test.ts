import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import cassandraDriver from 'cassandra-driver';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cassandraClientOptions, type CassandraConnectionSettings } from '#lib/cassandra.ts';
import { KeyspacesSigV4AuthProvider } from '#lib/keyspaces-auth.ts';

/** The sink's settings on the aws stage (serverless.yml params.aws). */
const keyspaces: CassandraConnectionSettings = {
  AWS_REGION: 'eu-west-1',
  CASSANDRA_CONTACT_POINTS: ['cassandra.eu-west-1.amazonaws.com'],
  CASSANDRA_LOCAL_DC: 'eu-west-1',
  CASSANDRA_KEYSPACE: 'user_pipeline',
  CASSANDRA_PORT: 9142,
  CASSANDRA_AUTH: 'sigv4',
  CASSANDRA_TLS: 'true',
};

describe('Cassandra client options', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
  });

  it('reach Amazon Keyspaces: SigV4 for the region, TLS with the certificate checked on 9142, LOCAL_QUORUM, the region as data center', () => {
    const options = cassandraClientOptions(keyspaces);
    expect(options.authProvider).toBeInstanceOf(KeyspacesSigV4AuthProvider);
    expect((options.authProvider as KeyspacesSigV4AuthProvider).region).toBe('eu-west-1');
    expect(options.protocolOptions?.port).toBe(9142);
    expect(options.sslOptions).toEqual({
      rejectUnauthorized: true,
      servername: 'cassandra.eu-west-1.amazonaws.com',
    });
    expect(options.queryOptions?.consistency).toBe(cassandraDriver.types.consistencies.localQuorum);
    expect(options.localDataCenter).toBe('eu-west-1');
    expect(options.contactPoints).toEqual(['cassandra.eu-west-1.amazonaws.com']);
    expect(options.keyspace).toBe('user_pipeline');
  });

  it('answer the Keyspaces SigV4 challenge with a signature made from the default credentials, offline', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(Date.UTC(2026, 11, 1, 9, 30, 15, 123)));
    vi.stubEnv('AWS_PROFILE', '');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAEXAMPLEKEY');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY');
    vi.stubEnv('AWS_SESSION_TOKEN', 'IQoJb3JpZ2luX2VjEXAMPLETOKEN');
    const authenticator = (
      cassandraClientOptions(keyspaces).authProvider as KeyspacesSigV4AuthProvider
    ).newAuthenticator();
    const initial = await new Promise<Buffer>((resolve, reject) => {
      authenticator.initialResponse((error: Error | null, response: Buffer) => {
        if (error) reject(error);
        else resolve(response);
      });
    });
    expect(initial.toString()).toBe('SigV4\0\0');
    const answer = await new Promise<Buffer>((resolve, reject) => {
      authenticator.evaluateChallenge(
        Buffer.from('nonce=a1b2c3d4e5f60718293a4b5c6d7e8f90'),
        (error: Error | null, response: Buffer) => {
          if (error) reject(error);
          else resolve(response);
        },
      );
    });
    // The answer aws-sigv4-auth-cassandra-plugin 1.0.5 gives for the same nonce, time and keys.
    expect(answer.toString()).toBe(
      'signature=368b55cd3b2b6669bc3796bc937ec48ccce6757181ea5162021770f6bc21ec2c,access_key=ASIAEXAMPLEKEY,amzdate=2026-12-01T09:30:15.123Z,session_token=IQoJb3JpZ2luX2VjEXAMPLETOKEN',
    );
  });

  it("need no certificate file for Keyspaces: Node's roots hold the Amazon roots its certificates chain to", () => {
    const subjects = rootCertificates.map((pem) => new X509Certificate(pem).subject);
    for (const root of [
      'Amazon Root CA 1',
      'Amazon Root CA 2',
      'Starfield Services Root Certificate Authority - G2',
    ]) {
      expect(
        subjects.some((subject) => subject.includes(`CN=${root}`)),
        root,
      ).toBe(true);
    }
  });

  it('reach the local node as before: port 9042, no auth, no TLS', () => {
    const options = cassandraClientOptions({
      ...keyspaces,
      CASSANDRA_CONTACT_POINTS: ['127.0.0.1'],
      CASSANDRA_LOCAL_DC: 'datacenter1',
      CASSANDRA_PORT: 9042,
      CASSANDRA_AUTH: 'none',
      CASSANDRA_TLS: 'false',
    });
    expect(options).not.toHaveProperty('authProvider');
    expect(options).not.toHaveProperty('sslOptions');
    expect(options.protocolOptions?.port).toBe(9042);
    expect(options.localDataCenter).toBe('datacenter1');
  });
});
