/**
 * A Lambda Invoke API on 127.0.0.1 for the plugin's integration tests: POST
 * /2015-03-31/functions/{name}/invocations, answered as serverless-offline answers it (200 with the
 * handler's result, or 200 with `X-Amz-Function-Error: Unhandled` and the error payload when the
 * handler throws, 404 ResourceNotFoundException for an unknown function). Each function is a handler
 * that the test supplies; every event it received is kept.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LambdaKafkaEvent } from '#plugin/event-builder.ts';

/** A handler: returning means success, throwing means an unhandled function error. */
export type FakeHandler = (event: LambdaKafkaEvent) => unknown;

/** The fake endpoint and what it received. */
export interface FakeLambda {
  endpoint: string;
  /** Events received per function name, including failed invocations, in arrival order. */
  received: Map<string, LambdaKafkaEvent[]>;
  /** The raw byte length of each request body, per function name. */
  bodyBytes: Map<string, number[]>;
  setHandler(functionName: string, handler: FakeHandler): void;
  close(): Promise<void>;
}

/** Starts the fake on a free port. */
export async function startFakeLambda(): Promise<FakeLambda> {
  const handlers = new Map<string, FakeHandler>();
  const received = new Map<string, LambdaKafkaEvent[]>();
  const bodyBytes = new Map<string, number[]>();
  const server = createServer((request, response) => {
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(request.url ?? '');
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void (async () => {
        const name = decodeURIComponent(match?.[1] ?? '');
        const handler = handlers.get(name);
        if (request.method !== 'POST' || handler === undefined) {
          response.writeHead(404, {
            'content-type': 'application/json',
            'x-amzn-ErrorType': 'ResourceNotFoundException',
          });
          response.end(JSON.stringify({ Message: `Function not found: ${name}`, Type: 'User' }));
          return;
        }
        const body = Buffer.concat(chunks);
        const event = JSON.parse(body.toString('utf8')) as LambdaKafkaEvent;
        received.set(name, [...(received.get(name) ?? []), event]);
        bodyBytes.set(name, [...(bodyBytes.get(name) ?? []), body.length]);
        try {
          const result = await handler(event);
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify(result ?? null));
        } catch (error) {
          const err = error instanceof Error ? error : new Error(String(error));
          response.writeHead(200, {
            'content-type': 'application/json',
            'X-Amz-Function-Error': 'Unhandled',
          });
          response.end(JSON.stringify({ errorMessage: err.message, errorType: 'Error', trace: [] }));
        }
      })();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    received,
    bodyBytes,
    setHandler: (functionName, handler) => handlers.set(functionName, handler),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
