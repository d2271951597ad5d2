/**
 * Invokes a function through a Lambda Invoke API (serverless-offline's, offline) the way an
 * event-source mapping does: synchronously, and reading a function error from the response.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { z } from 'zod';
import { clientConfig } from './aws.ts';
import type { AwsClientOptions } from './aws.ts';

/** How one invocation ended. A failure carries what the on-failure record reports. */
export type InvokeOutcome =
  | { ok: true; statusCode: number }
  | {
      ok: false;
      /** HTTP status of the Invoke call; undefined when no response came back. */
      statusCode: number | undefined;
      /** `Unhandled`/`Handled` from the function, else the error's name (e.g. ResourceNotFoundException). */
      functionError: string;
      message: string;
    };

/** Invokes one function with one event. */
export type InvokeFunction = (event: unknown, signal: AbortSignal) => Promise<InvokeOutcome>;

/** A Lambda client bound to one endpoint. */
export interface LambdaInvoker {
  /** An `InvokeFunction` for the function deployed as `functionName`. */
  forFunction(functionName: string): InvokeFunction;
  close(): void;
}

const FunctionErrorPayload = z.looseObject({ errorMessage: z.string(), errorType: z.string().optional() });

function describeFunctionError(payload: Uint8Array | undefined): string {
  if (payload === undefined || payload.length === 0) return 'no error payload';
  const text = Buffer.from(payload).toString('utf8');
  try {
    const parsed = FunctionErrorPayload.safeParse(JSON.parse(text));
    if (parsed.success) return `${parsed.data.errorType ?? 'Error'}: ${parsed.data.errorMessage}`;
  } catch {
    // Not JSON: the raw text below says what there is.
  }
  return text.slice(0, 200);
}

const httpStatusOf = (error: unknown): number | undefined => {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return undefined;
  const metadata = error.$metadata;
  if (typeof metadata !== 'object' || metadata === null || !('httpStatusCode' in metadata)) return undefined;
  return typeof metadata.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
};

/**
 * A client for the Lambda Invoke API at `options.endpoint`. The SDK's own retries are off: the
 * mapping's retry policy decides, and counts every attempt.
 */
export function createLambdaInvoker(options: AwsClientOptions): LambdaInvoker {
  const client = new LambdaClient({ ...clientConfig(options), maxAttempts: 1 });
  return {
    forFunction: (functionName) => async (event, signal) => {
      try {
        const response = await client.send(
          new InvokeCommand({
            FunctionName: functionName,
            InvocationType: 'RequestResponse',
            Payload: Buffer.from(JSON.stringify(event), 'utf8'),
          }),
          { abortSignal: signal },
        );
        const statusCode = response.StatusCode ?? 200;
        if (response.FunctionError !== undefined && response.FunctionError !== '') {
          return {
            ok: false,
            statusCode,
            functionError: response.FunctionError,
            message: describeFunctionError(response.Payload),
          };
        }
        return { ok: true, statusCode };
      } catch (error) {
        const name = error instanceof Error ? error.name : 'Error';
        const message = error instanceof Error ? error.message : String(error);
        return { ok: false, statusCode: httpStatusOf(error), functionError: name, message };
      }
    },
    close: () => {
      client.destroy();
    },
  };
}
