/** Lambda inputs for handlers invoked in-process: an API Gateway POST and a context whose clock runs. */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { vi } from 'vitest';
import { localResources } from '../../infra/local/resources.js';
import { endpoints } from '../../infra/stack/endpoints.js';

/** An HTTP function's handler, as the tests call it. */
export type HttpHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** A Lambda context with a deadline `timeoutMs` from now (API Gateway allows 29 s). */
export function lambdaContext(timeoutMs = 29_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    awsRequestId: 'itest',
    functionName: 'itest',
    getRemainingTimeInMillis: () => deadline - Date.now(),
  } as unknown as Context;
}

/** A POST through API Gateway's proxy integration, with the raw body (malformed JSON stays possible). */
export const apiGatewayPost = (body: string, headers: Record<string, string> = {}): APIGatewayProxyEvent =>
  ({
    httpMethod: 'POST',
    headers,
    body,
    requestContext: { requestId: 'itest-request' },
  }) as unknown as APIGatewayProxyEvent;

/**
 * Stubs the environment serverless.yml gives a database function of the local stage (the stage, the
 * AWS emulator and its test credentials, the database secret's name, no TLS), plus `extra`; undo it
 * with `vi.unstubAllEnvs()`.
 */
export function stubLocalDatabaseFunctionEnv(extra: Record<string, string> = {}): void {
  const env: Record<string, string> = {
    STAGE: 'local',
    AWS_ENDPOINT_URL: endpoints.aws.endpoint,
    AWS_REGION: endpoints.aws.region,
    AWS_ACCESS_KEY_ID: endpoints.aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: endpoints.aws.credentials.secretAccessKey,
    DB_SECRET_ID: localResources.dbSecretId,
    DB_SSL: 'false',
    ...extra,
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
}
