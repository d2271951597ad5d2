import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  BadRequestError,
  ConfigError,
  NotFoundError,
  TransientError,
  UnprocessableError,
  UpstreamError,
} from '#lib/errors.ts';
import { httpHandler } from '#lib/http.ts';

/** An API Gateway REST proxy event as API Gateway (and serverless-offline) delivers it. */
function postEvent(body: string | null, headers: Record<string, string> = {}): APIGatewayProxyEvent {
  return {
    resource: '/fetch',
    path: '/fetch',
    httpMethod: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'k', ...headers },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: 'POST',
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: 'k',
        apiKeyId: 'kid',
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '127.0.0.1',
        user: null,
        userAgent: 'vitest',
        userArn: null,
      },
      path: '/local/fetch',
      stage: 'local',
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      requestTimeEpoch: 1_795_000_000_000,
      resourceId: 'r1',
      resourcePath: '/fetch',
    },
  };
}

const context = {
  awsRequestId: 'req-1',
  functionName: 'f',
  getRemainingTimeInMillis: () => 1000,
} as unknown as Context;
const Body = z.strictObject({ n: z.number() });

describe('httpHandler', () => {
  it('answers 200 with the use-case result as JSON', async () => {
    const handler = httpHandler(Body, ({ n }) => Promise.resolve({ doubled: n * 2 }));
    const result = await handler(postEvent('{"n": 21}'), context);
    expect(result).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"doubled":42}',
    });
  });

  it.each([
    [
      new BadRequestError('count must be at most 10'),
      400,
      { error: 'bad-request', message: 'count must be at most 10' },
    ],
    [
      new NotFoundError('no batch at raw/x.json'),
      404,
      { error: 'not-found', message: 'no batch at raw/x.json' },
    ],
    [new UnprocessableError('not a batch'), 422, { error: 'unprocessable', message: 'not a batch' }],
    [
      new UpstreamError('randomuser kept failing', 429),
      502,
      { error: 'upstream', message: 'randomuser kept failing', upstreamStatus: 429 },
    ],
    [new TransientError('database down'), 503, { error: 'transient', message: 'database down' }],
    [
      new ConfigError('RAW_BUCKET missing'),
      500,
      { error: 'config', message: 'the function is misconfigured; see the logs' },
    ],
    [
      new Error('secret detail at /var/task'),
      500,
      { error: 'internal', message: 'internal error; see the logs' },
    ],
  ])('maps %s to its status, never with a stack', async (error, status, body) => {
    const handler = httpHandler(Body, () => Promise.reject(error));
    const result = await handler(postEvent('{"n": 1}'), context);
    expect(result.statusCode).toBe(status);
    expect(JSON.parse(result.body)).toEqual(body);
    expect(result.body).not.toMatch(/at .*\.ts:\d+/);
  });

  it('answers 400 for a malformed body before the use case runs', async () => {
    let ran = false;
    const handler = httpHandler(Body, () => {
      ran = true;
      return Promise.resolve({});
    });
    expect((await handler(postEvent('{"n": '), context)).statusCode).toBe(400);
    expect((await handler(postEvent(null), context)).statusCode).toBe(400);
    expect(JSON.parse((await handler(postEvent('{"n": "1"}'), context)).body)).toEqual({
      error: 'bad-request',
      message: 'invalid request: n: Invalid input: expected number, received string',
    });
    expect(ran).toBe(false);
  });
});
