import http from 'node:http';
import { setTimeout } from 'node:timers/promises';

/**
 * POSTs JSON on a fresh connection (no keep-alive), so that a test never reuses a socket the server
 * is just closing after an idle pause (ECONNRESET), and returns the status and the parsed body.
 */
export function postJson(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            parsed = { text };
          }
          resolve({ status: response.statusCode ?? 0, body: parsed });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** The pipeline's HTTP functions as Airflow calls them, with the API key; a non-200 answer throws. */
export function pipelineClient(baseUrl: string, apiKey: string) {
  const call = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const response = await postJson(`${baseUrl}/${path}`, JSON.stringify(body), { 'x-api-key': apiKey });
    if (response.status !== 200) {
      throw new Error(`POST /${path} answered ${response.status}: ${JSON.stringify(response.body)}`);
    }
    return response.body;
  };
  return {
    /** One batch of `count` users; with `page`, that page of the seed (a chunk, as the DAG asks). */
    fetch: (count: number, seed: string, page?: number) =>
      call('fetch', page === undefined ? { count, seed } : { count, seed, page }),
    persist: (key: string) => call('persist', { key }),
    /** How far a batch has come: its users in PostgreSQL, published, and in Cassandra. */
    status: (batchId: string) => call('status', { batchId }),
    /** One publish call of at most `maxEvents` (the DAG's lanes call it so). */
    publish: (maxEvents: number) => call('publish', { maxEvents }),
    /**
     * Publishes until the outbox is empty, rows another call holds included (they end published, or
     * freed for this loop if that call fails); returns how many events this loop published.
     */
    drain: async (): Promise<number> => {
      let published = 0;
      for (let left = 1; left > 0;) {
        const body = await call('publish', { drain: true });
        const now = Number(body['published']);
        published += now;
        left = Number(body['remaining']) + Number(body['inFlight'] ?? 0);
        // Only others' claims left: give them a moment rather than asking again at once.
        if (left > 0 && now === 0) await setTimeout(200);
      }
      return published;
    },
  };
}
