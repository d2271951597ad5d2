/**
 * The peak memory of each function over the calls of a whole run, each function's bundle (built by
 * `sls offline`, as Lambda runs it) alone in a process on plain Node (scripts/function-host.mjs),
 * serving the run's calls one after the other as one warm container would.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { z } from 'zod';
import { buildEvent, toLambdaRecord } from '#plugin/event-builder.ts';
import { repoRoot } from '#infra/stack/lib/paths.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import { localFunctionEnvironment, type FunctionName } from '#infra/stack/local-stage/function-env.ts';

const HostResult = z.object({
  peakRssMb: z.number(),
  ms: z.number(),
  result: z.record(z.string(), z.unknown()),
});
export type HostResult = z.infer<typeof HostResult>;

/** Runs `name`'s bundle over `input` (see function-host.mjs) with the local stage's environment. */
export function hosted(
  name: FunctionName,
  input: string,
  options: { heapMb?: number; environment?: Record<string, string> } = {},
): HostResult {
  const bundle = path.join(repoRoot, '.esbuild/.build/functions', name, 'handler.mjs');
  const heap = options.heapMb === undefined ? [] : [`--max-old-space-size=${options.heapMb}`];
  const result = spawnSync(process.execPath, [...heap, 'scripts/function-host.mjs', bundle, name, input], {
    cwd: repoRoot,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: {
      PATH: process.env['PATH'],
      ...localFunctionEnvironment(name, { POWERTOOLS_LOG_LEVEL: 'WARN', ...options.environment }),
    },
  });
  const last = result.stdout.trim().split('\n').at(-1) ?? '';
  if (result.status !== 0 || !last.startsWith('{')) {
    throw new Error(
      `function-host ${name} failed:\n${result.stdout.slice(-2000)}${result.stderr.slice(-2000)}`,
    );
  }
  return HostResult.parse(JSON.parse(last));
}

/** The sink's events for `messages`, as the trigger builds them (2000 records each), one JSON per line. */
export function writeSinkEvents(
  topic: string,
  messages: readonly (KafkaMessage & { partition: number })[],
  file: string,
): void {
  const lines: string[] = [];
  for (let i = 0; i < messages.length; i += 2000) {
    const records = messages.slice(i, i + 2000).map((m) => toLambdaRecord(topic, m.partition, m));
    lines.push(
      JSON.stringify(
        buildEvent({ kind: 'kafka', bootstrapServers: endpoints.kafka.brokers.join(',') }, records),
      ),
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}
