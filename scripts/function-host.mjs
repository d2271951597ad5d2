/**
 * Runs one function's esbuild bundle (what Lambda runs) in a process of its own, on plain Node with
 * no loader, so that the benchmark can measure that function's peak memory over the calls of a whole
 * run, as one warm container would serve them one after the other:
 *
 *   node scripts/function-host.mjs <bundle> <function> <input>
 *
 *   fetch <count>:<seed>:<pages>   POST /fetch {count, seed, page} for pages 1 … <pages>
 *   persist <file>                 POST /persist for each key in the file, one per line
 *   publish                        POST /publish {drain} until empty
 *   sink <file>                    each line of the file as one event
 *
 * The caller passes the function's environment. The last stdout line is JSON:
 * {function, ms, peakRssMb, result}.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const [bundle = '', name = '', input = ''] = process.argv.slice(2);

/** A Lambda context with a 29 s deadline from now (API Gateway's limit). */
function context() {
  const deadline = Date.now() + 29_000;
  return { awsRequestId: `host-${Date.now()}`, getRemainingTimeInMillis: () => deadline - Date.now() };
}

const post = (body) => ({
  httpMethod: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
  requestContext: { requestId: `host-${Date.now()}` },
});

function bodyOf(response) {
  if (response.statusCode !== 200)
    throw new Error(`${name} answered ${response.statusCode}: ${response.body}`);
  return JSON.parse(response.body);
}

async function run(handler) {
  switch (name) {
    case 'fetch': {
      const [count, seed, pages] = input.split(':');
      const keys = [];
      for (let page = 1; page <= Number(pages); page++) {
        keys.push(bodyOf(await handler(post({ count: Number(count), seed, page }), context())).key);
      }
      return { keys };
    }
    case 'persist': {
      let users = 0;
      for await (const key of createInterface({ input: createReadStream(input) })) {
        users += bodyOf(await handler(post({ key }), context())).users;
      }
      return { users };
    }
    case 'publish': {
      let published = 0;
      for (let remaining = 1; remaining > 0;) {
        const body = bodyOf(await handler(post({ drain: true }), context()));
        published += body.published;
        remaining = body.remaining;
      }
      return { published };
    }
    case 'sink': {
      let records = 0;
      for await (const line of createInterface({ input: createReadStream(input) })) {
        records += (await handler(JSON.parse(line), context())).records;
      }
      return { records };
    }
    default:
      throw new Error(`unknown function ${name}: fetch, persist, publish or sink`);
  }
}

const { handler } = await import(pathToFileURL(bundle).href);
const started = Date.now();
const result = await run(handler);
const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
process.stdout.write(`${JSON.stringify({ function: name, ms: Date.now() - started, peakRssMb, result })}\n`);
process.exit(0);
