/** Lambda inputs for handlers invoked in-process: an API Gateway POST and a context whose clock runs. */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { vi } from 'vitest';
import { localFunctionEnvironment, type FunctionName } from '#infra/stack/local-stage/function-env.ts';

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

/**
 * A POST through API Gateway's proxy integration, with the raw body (malformed JSON stays possible),
 * sent as application/json unless `headers` says otherwise.
 */
export const apiGatewayPost = (body: string, headers: Record<string, string> = {}): APIGatewayProxyEvent =>
  ({
    httpMethod: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    requestContext: { requestId: 'itest-request' },
  }) as unknown as APIGatewayProxyEvent;

/**
 * Stubs the environment the local stage gives the named functions (infra/stack/local-stage/function-env.ts,
 * held equal to serverless.yml), with `overrides` last; undo it with `vi.unstubAllEnvs()`. The log
 * settings stay the test runner's: the functions' logs would drown the report.
 */
export function stubLocalFunctionEnv(
  names: FunctionName | readonly FunctionName[],
  overrides: Record<string, string> = {},
): void {
  const env = Object.assign({}, ...[names].flat().map((name) => localFunctionEnvironment(name))) as Record<
    string,
    string
  >;
  delete env['POWERTOOLS_LOG_LEVEL'];
  delete env['NODE_OPTIONS'];
  for (const [name, value] of Object.entries({ ...env, ...overrides })) vi.stubEnv(name, value);
}
