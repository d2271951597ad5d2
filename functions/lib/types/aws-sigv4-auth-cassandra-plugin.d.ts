// The plugin ships no types: the part of its API the project uses (lib/sigv4-auth-provider.js).
declare module 'aws-sigv4-auth-cassandra-plugin' {
  import type cassandraDriver from 'cassandra-driver';

  /**
   * SigV4 sign-in to Amazon Keyspaces. Without keys it resolves credentials from the default chain
   * (a Lambda function's role through its environment) at every new connection.
   */
  interface SigV4AuthProvider extends cassandraDriver.auth.AuthProvider {
    readonly region: string;
    newAuthenticator(endpoint: string, name: string): cassandraDriver.auth.Authenticator;
  }

  /** Its options: a region, and keys (when left out, the default chain's). */
  interface SigV4AuthProviderOptions {
    region?: string;
    accessKeyId?: string;
    secretAccessKey?: string;
    sessionToken?: string;
  }

  /**
   * The module is CommonJS (`module.exports = sigV4Auth`, a variable), whose names Node cannot detect
   * statically: plain Node and tsx give only a default import, so that is all this declares (a named
   * import type-checks nowhere, instead of passing under vitest and esbuild and failing under tsx).
   */
  const plugin: {
    readonly SigV4AuthProvider: new (options?: SigV4AuthProviderOptions) => SigV4AuthProvider;
  };
  export default plugin;
}
