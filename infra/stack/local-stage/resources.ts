import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipelineResources } from '#infra/pipeline/resources.ts';
import { endpoints } from '../endpoints.ts';
import { servicePaths, stackHome } from '../lib/paths.ts';
import { settings } from '../settings.ts';

/**
 * The resources of the `local` stage, the one the native stack serves (serverless.yml's default
 * stage). The stack's `bootstrap` service creates them; tools and tests find them here.
 */
export const localResources = pipelineResources('local');

/** Partitions of the users topic: they bound the sink's and Spark's parallelism (USERS_TOPIC_PARTITIONS). */
export const usersTopicPartitions = (): number => settings.USERS_TOPIC_PARTITIONS;

const { pipeline } = endpoints.postgres;

/** The pipeline database's URL on the local stack (development credentials). */
export const localDatabaseUrl = `postgres://${pipeline.user}:${pipeline.password}@${endpoints.postgres.host}:${endpoints.postgres.port}/${pipeline.database}`;

/** The SQS queue URL the emulator gives a queue name (path style, as the stack configures it). */
export const localQueueUrl = (name: string): string => `${endpoints.aws.endpoint}/000000000000/${name}`;

/**
 * The local stage's durable store (LOCAL_STORE_DIR): the raw zone and the sink's two queues as folders
 * (`<dir>/<bucket>`, `<dir>/<queue>`), which the functions, `npm run dlq` and the offline trigger use
 * instead of the AWS emulator's S3 and SQS, since LocalStack community keeps no state across a restart.
 * In the bootstrap's data: `stack reset` (or `reset bootstrap`) empties it, `down` and a crash do not.
 * serverless.yml's local `localStoreDir` names the same folder.
 */
export const localStoreDir = servicePaths('bootstrap').data;

/** Where the offline API key lives: a random token made once, kept across restarts. */
export const apiKeyFile = path.join(stackHome, 'secrets', 'api-key');

/** The offline API key, created on first use. */
export async function localApiKey(): Promise<string> {
  if (existsSync(apiKeyFile)) return (await readFile(apiKeyFile, 'utf8')).trim();
  await mkdir(path.dirname(apiKeyFile), { recursive: true });
  const key = randomBytes(24).toString('base64url');
  await writeFile(apiKeyFile, `${key}\n`, { mode: 0o600 });
  return key;
}
