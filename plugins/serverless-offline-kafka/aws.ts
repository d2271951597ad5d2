/**
 * Options shared by the plugin's AWS SDK clients (Lambda for serverless-offline, SQS for LocalStack).
 */

/** Static credentials, as the SDK clients accept them. */
export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Endpoint, region and credentials of one SDK client. */
export interface AwsClientOptions {
  endpoint?: string;
  region: string;
  credentials?: StaticCredentials;
}

/**
 * Credentials for emulators: the SDK refuses to sign without any, and neither serverless-offline nor
 * LocalStack checks them. When the process has credentials of its own (keys or a profile), the SDK's
 * default chain is left to find them.
 */
export function emulatorCredentials(
  env: Readonly<Record<string, string | undefined>>,
): StaticCredentials | undefined {
  const hasOwn = [env['AWS_ACCESS_KEY_ID'], env['AWS_PROFILE']].some((v) => v !== undefined && v !== '');
  return hasOwn ? undefined : { accessKeyId: 'test', secretAccessKey: 'test' };
}

/** The options object for an SDK client constructor, leaving out what is unset. */
export function clientConfig(options: AwsClientOptions): {
  region: string;
  endpoint?: string;
  credentials?: StaticCredentials;
} {
  return {
    region: options.region,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  };
}
