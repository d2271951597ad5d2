import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { z } from 'zod';
import { BadRequestError, loggableError, outcomeOf } from './errors.ts';
import { logger } from './logger.ts';

const json = (statusCode: number, body: unknown): APIGatewayProxyResult => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** Parses an HTTP body with a zod schema; every problem is named in one 400 message. */
export function parseBody<T extends z.ZodType>(schema: T, body: string | null): z.infer<T> {
  let value: unknown;
  try {
    value = JSON.parse(body ?? '');
  } catch (error) {
    throw new BadRequestError('the body must be a JSON object', { cause: error });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) =>
      i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message,
    );
    throw new BadRequestError(`invalid request: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/**
 * An HTTP handler from a use-case: parses the body with `schema`, runs `useCase`, answers 200 with
 * its result (the use-case also gets the Lambda context, for its remaining time), and maps any error to its status through `outcomeOf`. Each request gets a correlation
 * id (the caller's `x-correlation-id`, else API Gateway's request id) in every log line.
 */
export function httpHandler<T extends z.ZodType, R>(
  schema: T,
  useCase: (input: z.infer<T>, context: Context) => Promise<R>,
): middy.MiddyfiedHandler<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event, context) => {
      const header = Object.entries(event.headers).find(
        ([name]) => name.toLowerCase() === 'x-correlation-id',
      )?.[1];
      logger.setCorrelationId(header ?? event.requestContext.requestId);
      try {
        return json(200, await useCase(parseBody(schema, event.body), context));
      } catch (error) {
        const outcome = outcomeOf(error);
        if (outcome.statusCode >= 500)
          logger.error('request failed', { outcome: outcome.body, error: loggableError(error) });
        else logger.warn('request refused', { outcome: outcome.body });
        return json(outcome.statusCode, outcome.body);
      }
    });
}
