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

  it.each([
    ['malformed JSON', '{"n": ', /^the body is not valid JSON: \S/],
    ['an empty body', '', /^the body is empty: send a JSON object such as \{"n": …\}, as application\/json$/],
    ['no body', null, /^the body is empty: send a JSON object such as \{"n": …\}/],
    ['a body of blanks', '  \n', /^the body is empty/],
    ['JSON null', 'null', /^the body is JSON null: send a JSON object$/],
  ])('says what is wrong with %s, each in its own words', async (_, body, message) => {
    const handler = httpHandler(Body, () => Promise.resolve({}));
    const result = await handler(postEvent(body), context);
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body)).toMatchObject({
      error: 'bad-request',
      message: expect.stringMatching(message) as unknown,
    });
  });

  it("quotes the JSON parser's reason cut short, not a whole body", async () => {
    const handler = httpHandler(Body, () => Promise.resolve({}));
    const result = await handler(postEvent(`{"n": 1, "x": "${'y'.repeat(5000)}`), context);
    const { message } = JSON.parse(result.body) as { message: string };
    expect(message).toMatch(/^the body is not valid JSON: /);
    expect(message.length).toBeLessThanOrEqual('the body is not valid JSON: '.length + 121);
  });

  it.each([
    ['text/plain', 'Content-Type text/plain'],
    ['application/x-www-form-urlencoded', 'Content-Type application/x-www-form-urlencoded'],
    ['application/jsonp', 'Content-Type application/jsonp'],
    [undefined, 'no Content-Type'],
  ])('refuses a JSON body sent as %s with a 415 that says how to send it', async (type, sent) => {
    let ran = false;
    const handler = httpHandler(Body, () => {
      ran = true;
      return Promise.resolve({});
    });
    const event = postEvent('{"n": 1}');
    const headers = { ...event.headers };
    delete headers['content-type'];
    const result = await handler(
      { ...event, headers: type === undefined ? headers : { ...headers, 'Content-Type': type } },
      context,
    );
    expect(result.statusCode).toBe(415);
    expect(JSON.parse(result.body)).toEqual({
      error: 'unsupported-media-type',
      message: `the body must be JSON sent with Content-Type: application/json, not ${sent}`,
    });
    expect(ran).toBe(false);
  });

  it.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8'])(
    'takes a body sent as %s, whatever the case of the header name',
    async (type) => {
      const handler = httpHandler(Body, ({ n }) => Promise.resolve({ n }));
      const event = postEvent('{"n": 3}');
      const headers = { ...event.headers };
      delete headers['content-type'];
      const result = await handler({ ...event, headers: { ...headers, 'Content-Type': type } }, context);
      expect(result.statusCode).toBe(200);
    },
  );
});
