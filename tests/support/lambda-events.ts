/** Lambda inputs for handlers invoked in-process: an API Gateway POST and a context whose clock runs. */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';

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
