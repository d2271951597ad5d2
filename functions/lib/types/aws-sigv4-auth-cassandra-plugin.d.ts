// The plugin ships no types: the part of its API the project uses (lib/sigv4-auth-provider.js).
declare module 'aws-sigv4-auth-cassandra-plugin' {
  import type cassandraDriver from 'cassandra-driver';

  /**
   * SigV4 sign-in to Amazon Keyspaces. Without keys it resolves credentials from the default chain
   * (a Lambda function's role through its environment) at every new connection.
   */
  export class SigV4AuthProvider implements cassandraDriver.auth.AuthProvider {
    constructor(options?: {
      region?: string;
      accessKeyId?: string;
      secretAccessKey?: string;
      sessionToken?: string;
    });
    readonly region: string;
    newAuthenticator(endpoint: string, name: string): cassandraDriver.auth.Authenticator;
  }
}
