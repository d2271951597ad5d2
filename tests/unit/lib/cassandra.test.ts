import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import sigv4Plugin from 'aws-sigv4-auth-cassandra-plugin';
import cassandraDriver from 'cassandra-driver';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cassandraClientOptions, type CassandraConnectionSettings } from '#lib/cassandra.ts';

const { SigV4AuthProvider } = sigv4Plugin;
type SigV4AuthProvider = InstanceType<typeof SigV4AuthProvider>;

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
    vi.unstubAllEnvs();
  });

  it('reach Amazon Keyspaces: SigV4 for the region, TLS with the certificate checked on 9142, LOCAL_QUORUM, the region as data center', () => {
    const options = cassandraClientOptions(keyspaces);
    expect(options.authProvider).toBeInstanceOf(SigV4AuthProvider);
    expect((options.authProvider as SigV4AuthProvider).region).toBe('eu-west-1');
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
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY');
    vi.stubEnv('AWS_SESSION_TOKEN', 'session-token');
    const authenticator = (
      cassandraClientOptions(keyspaces).authProvider as SigV4AuthProvider
    ).newAuthenticator(
      'cassandra.eu-west-1.amazonaws.com:9142',
      'com.amazonaws.cassandra.auth.SigV4Authenticator',
    );
    const initial = await new Promise<Buffer>((resolve, reject) => {
      authenticator.initialResponse((error: Error | null, response: Buffer) => {
        if (error) reject(error);
        else resolve(response);
      });
    });
    expect(initial.toString()).toBe('SigV4\0\0');
    const answer = await new Promise<Buffer>((resolve, reject) => {
      authenticator.evaluateChallenge(
        Buffer.from('nonce=91703fdc2ef562e19fbdab0f58e42fe5'),
        (error: Error | null, response: Buffer) => {
          if (error) reject(error);
          else resolve(response);
        },
      );
    });
    expect(answer.toString()).toMatch(
      /^signature=[0-9a-f]{64},access_key=AKIDEXAMPLE,amzdate=\d{4}-\d\d-\d\dT[\d:.]+Z,session_token=session-token$/,
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
