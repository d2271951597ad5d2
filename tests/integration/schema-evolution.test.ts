import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { describe, expect, it } from 'vitest';
import { registerAvroSchema } from '#infra/pipeline/schemas.ts';
import { localResources } from '#infra/stack/local-stage/resources.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import { repoRoot } from '#infra/stack/lib/paths.ts';
import { unique } from '../support/clients.ts';
import { userEvent } from '../fixtures/kafka-events.ts';

interface AvroRecordSchema {
  fields: { name: string; type: unknown; default?: unknown }[];
}

const readSchema = async (): Promise<AvroRecordSchema & Record<string, unknown>> =>
  JSON.parse(await readFile(path.join(repoRoot, 'schemas/user-event.avsc'), 'utf8')) as AvroRecordSchema &
    Record<string, unknown>;

describe('the user event schema in the registry, under BACKWARD compatibility', () => {
  it('is registered by the bootstrap under the topic value subject', async () => {
    const registry = new SchemaRegistry({ host: endpoints.registry.url });
    const id = await registry.getLatestSchemaId(localResources.usersSubject);
    const registered = await registry.getSchema(id);
    expect(registered.isValid(userEvent())).toBe(true);
  });

  it('accepts an evolution that old data can still be read with, and refuses one that it cannot', async () => {
    const subject = unique('evolution-value');
    const base = await readSchema();
    const register = (schema: unknown) =>
      registerAvroSchema({
        registryUrl: endpoints.registry.url,
        subject,
        schema: JSON.stringify(schema),
        compatibility: 'BACKWARD',
      });
    const v1 = await register(base);

    // A new optional field with a default: readers of v2 fill it in for v1 data.
    const added = {
      ...base,
      fields: [...base.fields, { name: 'locale', type: ['null', 'string'], default: null }],
    };
    const v2 = await register(added);
    expect(v2).not.toBe(v1);

    // A new field with no default: v2 readers could not read v1 data. The registry says no.
    const required = { ...added, fields: [...added.fields, { name: 'tier', type: 'int' }] };
    await expect(register(required)).rejects.toThrow(
      `the registry refused the schema under ${subject} (BACKWARD)`,
    );

    // Changing a field's type (string → int) is refused as well.
    const retyped = {
      ...added,
      fields: added.fields.map((f) => (f.name === 'postcode' ? { ...f, type: 'int' } : f)),
    };
    await expect(register(retyped)).rejects.toThrow(/refused/);
  });
});
