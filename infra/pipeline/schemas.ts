import { readFile } from 'node:fs/promises';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { basicAuthorization, registryClientOptions, type RegistryCredentials } from '#lib/schema-registry.ts';
import { pipelineFiles } from './files.ts';

/** The compatibility levels of the Confluent API. */
export type Compatibility = 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FULL' | 'NONE';

/**
 * Sets `subject`'s compatibility, then registers the Avro schema (its JSON text) under it (the registry
 * returns the existing id when the schema is already there). A schema that breaks compatibility is
 * refused by the registry with a 409, which surfaces here as an error naming the subject. With
 * `credentials`, both requests carry them as HTTP basic auth, as the functions' client does; no error
 * quotes them.
 */
export async function registerAvroSchema(options: {
  registryUrl: string;
  subject: string;
  schema: string;
  compatibility: Compatibility;
  credentials?: RegistryCredentials | undefined;
}): Promise<number> {
  const { registryUrl, subject, compatibility, credentials } = options;
  const response = await fetch(`${registryUrl}/config/${encodeURIComponent(subject)}`, {
    method: 'PUT',
    headers: {
      'content-type': 'application/vnd.schemaregistry.v1+json',
      ...(credentials === undefined ? {} : { authorization: basicAuthorization(credentials) }),
    },
    body: JSON.stringify({ compatibility }),
  });
  if (!response.ok) {
    throw new Error(`the registry refused ${compatibility} for ${subject}: HTTP ${response.status}`);
  }
  const { schema } = options;
  const registry = new SchemaRegistry(registryClientOptions(registryUrl, credentials));
  try {
    const { id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject });
    return id;
  } catch (error) {
    throw new Error(`the registry refused the schema under ${subject} (${compatibility})`, { cause: error });
  }
}

/**
 * The user event's Avro schema (schemas/user-event.avsc) registered under `subject` with BACKWARD
 * compatibility, as every stage's bootstrap does: readers of the newest version read all older ones.
 */
export async function registerUserEventSchema(
  registryUrl: string,
  subject: string,
  credentials?: RegistryCredentials,
): Promise<number> {
  return registerAvroSchema({
    registryUrl,
    subject,
    schema: await readFile(pipelineFiles.userEventSchema, 'utf8'),
    compatibility: 'BACKWARD',
    credentials,
  });
}
