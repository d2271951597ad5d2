import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { logger } from '#lib/logger.ts';

/** What GET /health answers: the service is up and which build answers. */
export function healthReport(now: Date): { status: 'ok'; service: string; time: string } {
  return { status: 'ok', service: 'user-pipeline', time: now.toISOString() };
}

/** GET /health: unauthenticated on purpose, as load balancers and Airflow sensors call it; it reveals nothing. */
export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(injectLambdaContext(logger))
  .handler((): Promise<APIGatewayProxyResult> => {
    logger.debug('health check');
    return Promise.resolve({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(healthReport(new Date())),
    });
  });
