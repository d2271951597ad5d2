import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { z } from 'zod';
import { BadRequestError, loggableError, outcomeOf, UnsupportedMediaTypeError } from './errors.ts';
import { logger } from './logger.ts';

const json = (statusCode: number, body: unknown): APIGatewayProxyResult => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** A header's value, whatever the case of its name (API Gateway passes names as the client sent them). */
export function headerOf(
  headers: Readonly<Record<string, string | undefined>> | null | undefined,
  name: string,
): string | undefined {
  const wanted = name.toLowerCase();
  return Object.entries(headers ?? {}).find(([key]) => key.toLowerCase() === wanted)?.[1];
}

/** application/json, with or without parameters (`; charset=utf-8`). */
const JSON_CONTENT_TYPE = /^\s*application\/json\s*(;|$)/i;

/** How much of the JSON parser's message a 400 quotes (it can quote the body). */
const PARSER_MESSAGE_MAX = 120;

/** The body a schema asks for, as an example: its required fields, e.g. {"count": …}. */
function exampleOf(schema: z.ZodType): string {
  const shape = (schema as { shape?: Record<string, z.ZodType> }).shape;
  if (shape === undefined) return '{}';
  const required = Object.entries(shape)
    .filter(([, field]) => !field.safeParse(undefined).success)
    .map(([name]) => `"${name}": …`);
  return `{${required.join(', ')}}`;
}

/**
 * Parses an HTTP body with a zod schema. Each way a body can be wrong gets its own message: none at
 * all (400), not sent as application/json (415), not JSON (400, with the parser's reason), JSON null
 * (400), and what the schema refuses (one 400 naming every problem). A request without a body needs
 * no content type: there is nothing to type.
 */
export function parseBody<T extends z.ZodType>(
  schema: T,
  body: string | null,
  contentType: string | undefined,
): z.infer<T> {
  if (body === null || body.trim() === '') {
    throw new BadRequestError(
      `the body is empty: send a JSON object such as ${exampleOf(schema)}, as application/json`,
    );
  }
  if (contentType === undefined || !JSON_CONTENT_TYPE.test(contentType)) {
    const sent = contentType === undefined ? 'no Content-Type' : `Content-Type ${contentType.slice(0, 100)}`;
    throw new UnsupportedMediaTypeError(
      `the body must be JSON sent with Content-Type: application/json, not ${sent}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const cut = reason.length <= PARSER_MESSAGE_MAX ? reason : `${reason.slice(0, PARSER_MESSAGE_MAX)}…`;
    throw new BadRequestError(`the body is not valid JSON: ${cut}`, { cause: error });
  }
  if (value === null) throw new BadRequestError('the body is JSON null: send a JSON object');
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
 * An HTTP handler from a use-case: parses the body with `schema` (see parseBody), runs `useCase`, answers 200 with
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
      logger.setCorrelationId(headerOf(event.headers, 'x-correlation-id') ?? event.requestContext.requestId);
      try {
        const input = parseBody(schema, event.body, headerOf(event.headers, 'content-type'));
        return json(200, await useCase(input, context));
      } catch (error) {
        const outcome = outcomeOf(error);
        if (outcome.statusCode >= 500)
          logger.error('request failed', { outcome: outcome.body, error: loggableError(error) });
        else logger.warn('request refused', { outcome: outcome.body });
        return json(outcome.statusCode, outcome.body);
      }
    });
}
