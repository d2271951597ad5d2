import { createHash, createHmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import cassandraDriver from 'cassandra-driver';

/** AWS credentials as the SDK v3 providers return them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  readonly expiration?: Date | undefined;
}

/** Where credentials come from: asked again for every authentication, so it may need a round trip. */
export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

/**
 * The AWS SDK v3 default chain (environment, SSO and profiles, web identity, container and instance
 * metadata), memoized: the same credentials until five minutes before they expire, then fetched
 * again (in the background while the old ones are still valid, at once when they are not).
 */
export const defaultAwsCredentials = (): AwsCredentialsProvider => defaultProvider();

/** What Keyspaces's SigV4 challenge is answered with, for one nonce at one time. */
export interface KeyspacesChallenge {
  readonly region: string;
  readonly nonce: string;
  readonly date: Date;
  readonly credentials: AwsCredentials;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const hmac = (key: string | Buffer, text: string): Buffer =>
  createHmac('sha256', key).update(text, 'utf8').digest();

/**
 * The answer to Keyspaces's SigV4 challenge: a SigV4 signature of a canonical `PUT /authenticate`
 * whose payload hash is the nonce's SHA-256, scoped to `<day>/<region>/cassandra/aws4_request`,
 * with the ISO time (milliseconds included, as Keyspaces checks it) in the string to sign. The same
 * protocol as aws-sigv4-auth-cassandra-plugin 1.0.5 (lib/sigv4-auth-signature.js); its documented
 * example is one of the unit test's vectors.
 */
export function keyspacesSignature({ region, nonce, date, credentials }: KeyspacesChallenge): string {
  const amzDate = date.toISOString();
  const day = amzDate.slice(0, 10).replaceAll('-', '');
  const scope = `${day}/${region}/cassandra/aws4_request`;
  const query = [
    'X-Amz-Algorithm=AWS4-HMAC-SHA256',
    `X-Amz-Credential=${credentials.accessKeyId}%2F${encodeURIComponent(scope)}`,
    `X-Amz-Date=${encodeURIComponent(amzDate)}`,
    'X-Amz-Expires=900',
  ]
    .sort()
    .join('&');
  const canonicalRequest = `PUT\n/authenticate\n${query}\nhost:cassandra\n\nhost\n${sha256(nonce)}`;
  const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256(canonicalRequest)}`;
  const dayKey = hmac(`AWS4${credentials.secretAccessKey}`, day);
  const signingKey = hmac(hmac(hmac(dayKey, region), 'cassandra'), 'aws4_request');
  const signature = hmac(signingKey, stringToSign).toString('hex');
  const token = credentials.sessionToken === undefined ? '' : `,session_token=${credentials.sessionToken}`;
  return `signature=${signature},access_key=${credentials.accessKeyId},amzdate=${amzDate}${token}`;
}

/** The nonce of a challenge (`nonce=<hex>[,…]`), or undefined when it has none. */
export const nonceOf = (challenge: Buffer): string | undefined =>
  /(?:^|,)nonce=([^,]+)/.exec(challenge.toString('utf8'))?.[1];

/** A credentials provider that failed: no connection can be authenticated until it succeeds. */
export class KeyspacesCredentialsError extends Error {
  override readonly name = 'KeyspacesCredentialsError';
}

type Callback = (error: Error | null, response?: Buffer) => void;

/** One connection's SigV4 exchange: `SigV4\0\0`, then the signed nonce with fresh credentials. */
class KeyspacesSigV4Authenticator implements cassandraDriver.auth.Authenticator {
  constructor(
    private readonly region: string,
    private readonly credentials: AwsCredentialsProvider,
    private readonly now: () => Date,
  ) {}

  initialResponse(callback: Callback): void {
    callback(null, Buffer.from('SigV4\0\0', 'utf8'));
  }

  evaluateChallenge(challenge: Buffer, callback: Callback): void {
    const nonce = nonceOf(challenge);
    if (nonce === undefined) {
      callback(new Error('the Keyspaces SigV4 challenge carries no nonce'));
      return;
    }
    // Every outcome reaches the driver: a provider that rejects fails this connection's
    // authentication (the driver reports it and tries again later), never an unhandled rejection.
    this.credentials().then(
      (credentials) => {
        const response = keyspacesSignature({ region: this.region, nonce, date: this.now(), credentials });
        callback(null, Buffer.from(response, 'utf8'));
      },
      (error: unknown) => {
        callback(
          new KeyspacesCredentialsError('no AWS credentials to sign in to Keyspaces', { cause: error }),
        );
      },
    );
  }

  onAuthenticationSuccess(): void {
    // Keyspaces sends no token to check.
  }
}

// The driver accepts only instances of its runtime AuthProvider, which its types declare only as an
// interface; the class is taken from the runtime module with the constructor type it has there.
const AuthProviderBase = (cassandraDriver.auth as unknown as { AuthProvider: new () => object }).AuthProvider;

/** How the provider signs: for which region, with which credentials, at which time (tests fix it). */
export interface KeyspacesAuthOptions {
  readonly region: string;
  readonly credentials?: AwsCredentialsProvider;
  readonly now?: () => Date;
}

/**
 * Amazon Keyspaces's SigV4 sign-in for cassandra-driver, with AWS SDK v3 credentials. Each new
 * connection (the driver opens one per node, and again after a reconnect) asks the provider for
 * credentials when the challenge arrives, so credentials that need a round trip (container or
 * instance metadata, SSO) work, and rotated ones are used as soon as the provider has them. In
 * place of aws-sigv4-auth-cassandra-plugin, which resolves credentials with the end-of-support AWS
 * SDK v2 and leaves a failure unhandled (the driver's callback never called, the process crashed).
 */
export class KeyspacesSigV4AuthProvider
  extends AuthProviderBase
  implements cassandraDriver.auth.AuthProvider
{
  /** The region signed for: the endpoint's (`cassandra.<region>.amazonaws.com`). */
  readonly region: string;
  private readonly credentials: AwsCredentialsProvider;
  private readonly now: () => Date;

  constructor(options: KeyspacesAuthOptions) {
    super();
    this.region = options.region;
    this.credentials = options.credentials ?? defaultAwsCredentials();
    this.now = options.now ?? (() => new Date());
  }

  newAuthenticator(): cassandraDriver.auth.Authenticator {
    return new KeyspacesSigV4Authenticator(this.region, this.credentials, this.now);
  }
}
