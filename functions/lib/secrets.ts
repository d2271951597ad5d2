import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { z } from 'zod';
import { clientConfig, type AwsSettings } from './aws.ts';
import { ConfigError, TransientError } from './errors.ts';
import { lazy } from './once.ts';

/**
 * The Secrets Manager client, created on first use and kept for the life of the container; here, next
 * to the secrets' reader, so that only the functions that read a secret bundle it.
 */
export const secretsClient = lazy(
  (settings: AwsSettings) => new SecretsManagerClient(clientConfig(settings)),
);

/**
 * Reads a Secrets Manager secret that holds JSON and validates it against `schema`. `what` names the
 * secret in errors ("the database secret"). No error it raises quotes the secret's value: a failed read
 * keeps the SDK's error as its cause (it carries no value), and a failed parse keeps no cause at all.
 */
export async function readJsonSecret<T extends z.ZodType>(
  client: Pick<SecretsManagerClient, 'send'>,
  secretId: string,
  schema: T,
  what: string,
): Promise<z.infer<T>> {
  let text: string | undefined;
  try {
    const response = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    text = response.SecretString;
  } catch (error) {
    throw new TransientError(`could not read ${what} ${secretId}`, { cause: error });
  }
  // Parsed apart, with no cause attached: a JSON parse error would quote the secret's first characters.
  let value: unknown;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    throw new ConfigError(`${what} ${secretId} is not JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    // Field names only: an issue's message can quote the value it refused.
    const fields = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
    throw new ConfigError(`${what} ${secretId} lacks or mistypes: ${fields}`);
  }
  return parsed.data;
}
