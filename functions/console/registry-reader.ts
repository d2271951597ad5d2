import { z } from 'zod';
import { NotFoundError, UpstreamError } from '#lib/errors.ts';
import type { Schemas, SchemaVersion } from './api.ts';

/** The Confluent-compatible registry's REST API, read-only: subjects, versions, compatibility. */
export function registryReader(baseUrl: string, authorization: () => Promise<string | undefined>) {
  const get = async (path: string): Promise<unknown> => {
    const auth = await authorization();
    let response: Response;
    try {
      response = await fetch(`${baseUrl.replace(/\/$/, '')}${path}`, {
        headers: { accept: 'application/json', ...(auth === undefined ? {} : { authorization: auth }) },
        signal: AbortSignal.timeout(3000),
      });
    } catch (error) {
      throw new UpstreamError(`the schema registry did not answer ${path}`, undefined, { cause: error });
    }
    const text = await response.text();
    if (response.status === 404) throw new NotFoundError(`the schema registry has no ${path}`);
    if (!response.ok)
      throw new UpstreamError(`the schema registry answered ${response.status} to ${path}`, response.status);
    return JSON.parse(text) as unknown;
  };
  const compatibility = async (subject: string): Promise<string> => {
    const level = z.object({ compatibilityLevel: z.string() });
    try {
      return level.parse(await get(`/config/${encodeURIComponent(subject)}?defaultToGlobal=true`))
        .compatibilityLevel;
    } catch (error) {
      // A subject with no level of its own: the registry's global one.
      if (!(error instanceof NotFoundError)) throw error;
      return level.parse(await get('/config')).compatibilityLevel;
    }
  };
  return {
    /** One cheap call: the subjects' names. */
    probe: (): Promise<unknown> => get('/subjects'),
    async schemas(): Promise<Schemas> {
      const subjects = z.array(z.string()).parse(await get('/subjects'));
      return {
        subjects: await Promise.all(
          subjects.sort().map(async (subject) => ({
            subject,
            versions: z
              .array(z.number())
              .parse(await get(`/subjects/${encodeURIComponent(subject)}/versions`)),
            compatibility: await compatibility(subject),
          })),
        ),
      };
    },
    async schemaVersion(subject: string, version: number): Promise<SchemaVersion> {
      const answer = z
        .object({ subject: z.string(), version: z.number(), id: z.number(), schema: z.string() })
        .parse(await get(`/subjects/${encodeURIComponent(subject)}/versions/${version}`));
      return { ...answer, schema: JSON.parse(answer.schema) as unknown };
    },
  };
}
