import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handler, healthReport } from '#functions/health/handler.ts';

/** A Lambda context as the runtime passes it (less the deprecated callbacks). */
const lambdaContext: Omit<Context, 'done' | 'fail' | 'succeed'> = {
  functionName: 'user-pipeline-local-health',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:user-pipeline-local-health',
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/user-pipeline-local-health',
  logStreamName: '2026/11/22/[$LATEST]abc',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 29_000,
};
const context = lambdaContext as Context;

describe('health', () => {
  it('reports ok with the time it answered', () => {
    expect(healthReport(new Date('2026-11-22T10:00:00Z'))).toEqual({
      status: 'ok',
      service: 'user-pipeline',
      time: '2026-11-22T10:00:00.000Z',
    });
  });

  it('answers 200 with a JSON body', async () => {
    const event = { httpMethod: 'GET', path: '/health', headers: {} } as unknown as APIGatewayProxyEvent;
    const result = await handler(event, context);
    expect(result.statusCode).toBe(200);
    expect(result.headers).toEqual({ 'content-type': 'application/json' });
    expect(JSON.parse(result.body)).toMatchObject({ status: 'ok', service: 'user-pipeline' });
  });
});
