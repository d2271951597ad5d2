/**
 * A randomuser.me-compatible HTTP source for offline runs, tests and benchmarks, with fault switches.
 *
 *   GET    /api/1.4/?results=N&seed=S&page=P&nat=…&inc=…&exc=…&noinfo   the v1.4 API (fetch asks this)
 *   GET    /api/?…                                                  the same (the real API's default version)
 *   POST   /_faults {"kind": …, "times": N, "delayMs": M}               make the next N API calls fail
 *   DELETE /_faults                                                     clear every pending fault
 *   GET    /_health                                                     liveness
 *
 * Fault kinds: 429 (the real API's error body), 500, 503, html (an HTML error page with status 500),
 * malformed (status 200, truncated JSON), no-results (status 200, a body without `results`), short
 * (status 200, `"results": []` though `info.results` counts what was asked, as the real API degrades),
 * slow (answers normally after `delayMs`).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { generate, parseQuery } from './generator.ts';

const Fault = z.strictObject({
  kind: z.enum(['429', '500', '503', 'html', 'malformed', 'no-results', 'short', 'slow']),
  times: z.number().int().min(1).default(1),
  delayMs: z.number().int().min(0).max(120_000).default(0),
});
type Fault = z.infer<typeof Fault>;

/** The body the real API sends with its errors. */
export const REAL_ERROR_BODY = JSON.stringify({
  error: 'Uh oh, something has gone wrong. Please tweet us @randomapi about the issue. Thank you.',
});

const HTML_ERROR_PAGE =
  '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>';

/** Where the API answers: its pinned version (what fetch asks), and the unversioned default. */
const API_ROUTES = new Set(['GET /api/1.4/', 'GET /api/1.4', 'GET /api/', 'GET /api']);

/** Creates the server; faults are queued in memory and consumed one API call at a time. */
export function createSourceServer(): http.Server {
  const faults: Fault[] = [];

  const send = (res: http.ServerResponse, status: number, type: string, body: string): void => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const takeFault = (): Fault | undefined => {
    const fault = faults[0];
    if (fault === undefined) return undefined;
    if (fault.times <= 1) faults.shift();
    else faults[0] = { ...fault, times: fault.times - 1 };
    return fault;
  };

  const api = async (url: URL, res: http.ServerResponse): Promise<void> => {
    const fault = takeFault();
    if (fault?.kind === 'slow') await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    switch (fault?.kind) {
      case '429':
      case '500':
      case '503':
        send(res, Number(fault.kind), 'application/json', REAL_ERROR_BODY);
        return;
      case 'html':
        send(res, 500, 'text/html', HTML_ERROR_PAGE);
        return;
      case 'malformed':
        send(res, 200, 'application/json', '{"results":[{"gender":"fem');
        return;
      case 'no-results':
        send(
          res,
          200,
          'application/json',
          JSON.stringify({ info: { seed: 'x', results: 0, page: 1, version: '1.4' } }),
        );
        return;
      case 'slow':
      case 'short':
      case undefined:
        break;
    }
    const request = parseQuery(Object.fromEntries(url.searchParams), () => randomBytes(8).toString('hex'));
    const page = generate(request);
    const body = fault?.kind === 'short' ? { ...page, results: [] } : page;
    send(res, 200, 'application/json; charset=utf-8', JSON.stringify(body));
  };

  const readBody = async (req: http.IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    const handle = async (): Promise<void> => {
      if (API_ROUTES.has(route)) return api(url, res);
      if (route === 'GET /_health') {
        send(res, 200, 'application/json', '{"status":"ok"}');
        return;
      }
      if (route === 'DELETE /_faults') {
        faults.length = 0;
        send(res, 204, 'text/plain', '');
        return;
      }
      if (route === 'POST /_faults') {
        const parsed = Fault.safeParse(JSON.parse((await readBody(req)) || '{}'));
        if (!parsed.success) {
          send(res, 400, 'application/json', JSON.stringify({ error: parsed.error.message }));
          return;
        }
        faults.push(parsed.data);
        send(res, 201, 'application/json', JSON.stringify({ queued: faults.length }));
        return;
      }
      send(res, 404, 'application/json', JSON.stringify({ error: `no route ${route}` }));
    };
    handle().catch((error: unknown) => {
      send(
        res,
        400,
        'application/json',
        JSON.stringify({ error: error instanceof Error ? error.message : 'bad request' }),
      );
    });
  });
}

if (process.argv[1]?.endsWith('server.ts') === true) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '3100' },
      // 127.0.0.1 unless a container publishes it (docker-compose.yml).
      host: { type: 'string', default: '127.0.0.1' },
      state: { type: 'string' },
    },
  });
  const server = createSourceServer();
  server.keepAliveTimeout = 30_000;
  server.listen(Number(values.port), values.host, () => {
    process.stdout.write(`randomuser source listening on http://${values.host}:${values.port}/api/1.4/\n`);
  });
  const shutdown = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
