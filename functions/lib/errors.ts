/**
 * The pipeline's error kinds. Each carries what a caller may see (its message) and, through `cause`,
 * what only the logs may see. `outcomeOf` maps a kind to its outcome in one place.
 */
export abstract class PipelineError extends Error {
  abstract readonly kind:
    | 'bad-request'
    | 'unsupported-media-type'
    | 'not-found'
    | 'unprocessable'
    | 'upstream'
    | 'transient'
    | 'config';
}

/** The request itself is wrong (malformed JSON, unknown fields, a count out of range). */
export class BadRequestError extends PipelineError {
  readonly kind = 'bad-request';
}

/** The body is not sent as JSON (a Content-Type other than application/json). */
export class UnsupportedMediaTypeError extends PipelineError {
  readonly kind = 'unsupported-media-type';
}

/** What the request names does not exist (an unknown batch key). */
export class NotFoundError extends PipelineError {
  readonly kind = 'not-found';
}

/** What the request names exists but cannot be processed (a raw object that is not a batch). */
export class UnprocessableError extends PipelineError {
  readonly kind = 'unprocessable';
}

/** An upstream API kept failing or answered garbage; `upstreamStatus` is its last HTTP status. */
export class UpstreamError extends PipelineError {
  readonly kind = 'upstream';
  constructor(
    message: string,
    readonly upstreamStatus: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A dependency is down or overloaded (database, S3): retrying later may succeed. */
export class TransientError extends PipelineError {
  readonly kind = 'transient';
}

/** The function is misconfigured (a missing or invalid environment variable). */
export class ConfigError extends PipelineError {
  readonly kind = 'config';
}

/**
 * What may be logged of an error and its causes: our own message, and for each cause only its name
 * and code. A cause's message can quote the data that failed (PostgreSQL quotes the offending value),
 * and the data is personal.
 */
export function loggableError(error: unknown): {
  message: string;
  causes: { name: string; code?: string }[];
} {
  const causes: { name: string; code?: string }[] = [];
  let cause = error instanceof Error ? error.cause : undefined;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    const code = (cause as { code?: unknown }).code;
    causes.push({
      name: cause instanceof Error ? cause.name : typeof cause,
      ...(typeof code === 'string' ? { code } : {}),
    });
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  const message = error instanceof PipelineError ? error.message : 'unexpected error';
  return { message, causes };
}

/** What an error means for an HTTP caller: the status, and a body that never holds a stack. */
export interface HttpOutcome {
  readonly statusCode: number;
  readonly body: { error: string; message: string; upstreamStatus?: number };
}

/** The one place where error kinds become outcomes. Unknown errors are 500s with a generic message. */
export function outcomeOf(error: unknown): HttpOutcome {
  if (!(error instanceof PipelineError)) {
    return { statusCode: 500, body: { error: 'internal', message: 'internal error; see the logs' } };
  }
  switch (error.kind) {
    case 'bad-request':
      return { statusCode: 400, body: { error: error.kind, message: error.message } };
    case 'unsupported-media-type':
      return { statusCode: 415, body: { error: error.kind, message: error.message } };
    case 'not-found':
      return { statusCode: 404, body: { error: error.kind, message: error.message } };
    case 'unprocessable':
      return { statusCode: 422, body: { error: error.kind, message: error.message } };
    case 'upstream': {
      const upstreamStatus = error instanceof UpstreamError ? error.upstreamStatus : undefined;
      return {
        statusCode: 502,
        body: {
          error: error.kind,
          message: error.message,
          ...(upstreamStatus === undefined ? {} : { upstreamStatus }),
        },
      };
    }
    case 'transient':
      return { statusCode: 503, body: { error: error.kind, message: error.message } };
    case 'config':
      return {
        statusCode: 500,
        body: { error: error.kind, message: 'the function is misconfigured; see the logs' },
      };
  }
}
