import { z } from 'zod';
import { BadRequestError, NotFoundError } from '#lib/errors.ts';
import { parseBody } from '#lib/http.ts';
import type {
  AirflowRuns,
  DeadLetters,
  ReplayResult,
  Schemas,
  SchemaVersion,
  Snapshot,
  Trace,
  TriggeredRun,
} from './api.ts';

/** What each endpoint of the console's API does (functions/console/api.ts lists them). */
export interface ConsoleApi {
  readonly snapshot: () => Promise<Snapshot>;
  readonly deadLetters: (limit: number) => Promise<DeadLetters>;
  readonly replay: (reason: string) => Promise<ReplayResult>;
  readonly schemas: () => Promise<Schemas>;
  readonly schemaVersion: (subject: string, version: number) => Promise<SchemaVersion>;
  readonly airflowRuns: () => Promise<AirflowRuns>;
  readonly triggerRun: (conf: TriggerRequest) => Promise<TriggeredRun>;
  readonly trace: (userKey: string, reveal: boolean) => Promise<Trace>;
}

/** POST dead-letters/replay: the reason, as `npm run dlq -- replay --reason` takes it. */
const ReplayRequest = z.strictObject({ reason: z.string().min(1).max(1000) });

/**
 * POST airflow/runs: the DAG's params. Only their shape is checked here; their values (ranges,
 * patterns, nationalities) are the DAG's to judge, and its answer is relayed as it is.
 */
export const TriggerRequest = z.strictObject({
  count: z.unknown(),
  seed: z.unknown().optional(),
  nat: z.unknown().optional(),
});
export type TriggerRequest = z.infer<typeof TriggerRequest>;

const LIMIT = z.coerce.number().int().min(1).max(500).default(50);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A request under /console/api/: its method, its path below that, its query, its body and that body's type. */
export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly body: string | null;
  /** The Content-Type header; only a request with a body needs one. */
  readonly contentType: string | undefined;
}

/** Routes one API request; an unknown path is a 404, a known path with another method a 405-like 400. */
export async function routeApi(request: ApiRequest, api: ConsoleApi): Promise<unknown> {
  const { method, query } = request;
  const path = request.path.replace(/^\/+|\/+$/g, '');
  let segments: string[];
  try {
    segments = path.split('/').map((s) => decodeURIComponent(s));
  } catch {
    throw new BadRequestError(`the path ${path} is not valid percent-encoding`);
  }
  const only = (allowed: string): void => {
    if (method !== allowed) throw new BadRequestError(`${method} is not allowed on ${path}: use ${allowed}`);
  };
  switch (segments[0] ?? '') {
    case 'snapshot':
      only('GET');
      return api.snapshot();
    case 'dead-letters':
      if (segments[1] === 'replay' && segments.length === 2) {
        only('POST');
        return api.replay(parseBody(ReplayRequest, request.body, request.contentType).reason);
      }
      if (segments.length === 1) {
        only('GET');
        const limit = LIMIT.safeParse(query['limit']);
        if (!limit.success) throw new BadRequestError('limit must be a whole number from 1 to 500');
        return api.deadLetters(limit.data);
      }
      break;
    case 'schemas':
      if (segments.length === 1) {
        only('GET');
        return api.schemas();
      }
      if (segments.length === 4 && segments[2] === 'versions') {
        only('GET');
        const version = Number(segments[3]);
        if (!Number.isInteger(version) || version < 1)
          throw new BadRequestError('a schema version is a whole number from 1');
        const subject = segments[1] ?? '';
        // A subject is a name: never a path segment that would move the registry request elsewhere,
        // nor a control character (the registry answers one with a 500, which would become a 502).
        if (subject === '' || subject === '.' || subject === '..' || /[/\p{Cc}]/u.test(subject))
          throw new BadRequestError(`not a subject name: ${JSON.stringify(subject)}`);
        return api.schemaVersion(subject, version);
      }
      break;
    case 'airflow':
      if (segments[1] === 'runs' && segments.length === 2) {
        if (method === 'POST')
          return api.triggerRun(parseBody(TriggerRequest, request.body, request.contentType));
        only('GET');
        return api.airflowRuns();
      }
      break;
    case 'trace':
      if (segments.length === 2) {
        only('GET');
        const key = segments[1] ?? '';
        if (!UUID.test(key))
          throw new BadRequestError('a user key is a UUID, as PostgreSQL and Cassandra hold it');
        return api.trace(key.toLowerCase(), query['reveal'] === '1');
      }
      break;
    default:
      break;
  }
  throw new NotFoundError(`no console endpoint ${method} /console/api/${path}`);
}
