/**
 * Field-by-field differences between two versions of an Avro record schema, for the console's
 * Schemas panel. Pure: the page runs it on two versions it fetched, the unit tests on literals.
 */

/** An Avro schema as JSON: a type's name, a union, or a type object (primitive, record, array, …). */
export type AvroSchema = string | readonly AvroSchema[] | AvroTypeObject;

export interface AvroTypeObject {
  readonly type: AvroSchema;
  readonly [attribute: string]: unknown;
}

export interface AvroField {
  readonly name: string;
  readonly type: AvroSchema;
  readonly default?: unknown;
}

export interface AvroRecord {
  readonly type: 'record' | 'error';
  readonly name: string;
  readonly fields: readonly AvroField[];
}

/**
 * One difference. `path` names the field, nested records' fields by dotted path (`address.city`;
 * `[]` for an array's items, `{}` for a map's values). Types and defaults are given as text
 * (`string (uuid)`, `[null, string]`; a default as JSON, null when the field has none).
 */
export type SchemaChange =
  | { readonly kind: 'added'; readonly path: string; readonly type: string; readonly default: string | null }
  | { readonly kind: 'removed'; readonly path: string; readonly type: string }
  | { readonly kind: 'type-changed'; readonly path: string; readonly from: string; readonly to: string }
  | {
      readonly kind: 'default-changed';
      readonly path: string;
      readonly from: string | null;
      readonly to: string | null;
    };

function isUnion(schema: AvroSchema): schema is readonly AvroSchema[] {
  return Array.isArray(schema);
}

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isAvroRecord(schema: unknown): schema is AvroRecord {
  return (
    isObject(schema) &&
    (schema['type'] === 'record' || schema['type'] === 'error') &&
    typeof schema['name'] === 'string' &&
    Array.isArray(schema['fields']) &&
    schema['fields'].every(
      (field: unknown) => isObject(field) && typeof field['name'] === 'string' && 'type' in field,
    )
  );
}

/**
 * A type as text. A named type (record, enum, fixed) is its unqualified name, the name Avro matches
 * a reader's and a writer's by, so a definition and a later reference to it read the same; a
 * record's fields are compared one by one instead (see `nestedRecords`).
 */
export function describeType(schema: AvroSchema): string {
  if (typeof schema === 'string') return schema;
  if (isUnion(schema)) return `[${schema.map(describeType).join(', ')}]`;
  const object = schema;
  const name = typeof object['name'] === 'string' ? object['name'] : null;
  switch (object.type) {
    case 'record':
    case 'error':
      return name ?? 'record';
    case 'enum':
      return `${name ?? 'enum'} {${(object['symbols'] as readonly string[] | undefined)?.join(', ') ?? ''}}`;
    case 'fixed':
      return `${name ?? 'fixed'} (fixed ${String(object['size'])})`;
    case 'array':
      return `array<${describeType(object['items'] as AvroSchema)}>`;
    case 'map':
      return `map<${describeType(object['values'] as AvroSchema)}>`;
    default: {
      const base = describeType(object.type);
      const logical = object['logicalType'];
      if (typeof logical !== 'string') return base;
      // A decimal's precision and scale are part of its type.
      const scale = typeof object['scale'] === 'number' ? object['scale'] : 0;
      const digits = logical === 'decimal' ? ` ${String(object['precision'])},${scale}` : '';
      return `${base} (${logical}${digits})`;
    }
  }
}

/** JSON with object keys sorted, so that two equal defaults compare equal whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function defaultOf(field: AvroField): string | null {
  return 'default' in field ? canonicalJson(field.default) : null;
}

/** The record definitions a field's type holds, by the path suffix that reaches their fields. */
function nestedRecords(schema: AvroSchema, path: string): Map<string, AvroRecord> {
  const found = new Map<string, AvroRecord>();
  if (typeof schema === 'string') return found;
  if (isUnion(schema)) {
    // A union: a record branch is reached through the field itself, as `['null', Address]` usually is.
    for (const branch of schema)
      for (const [key, record] of nestedRecords(branch, path)) found.set(key, record);
    return found;
  }
  const object = schema;
  if (isAvroRecord(object)) found.set(path, object);
  else if (object.type === 'array') return nestedRecords(object['items'] as AvroSchema, `${path}[]`);
  else if (object.type === 'map') return nestedRecords(object['values'] as AvroSchema, `${path}{}`);
  return found;
}

function diffFields(before: AvroRecord, after: AvroRecord, prefix: string): SchemaChange[] {
  const changes: SchemaChange[] = [];
  const afterByName = new Map(after.fields.map((field) => [field.name, field]));
  const beforeNames = new Set(before.fields.map((field) => field.name));
  for (const old of before.fields) {
    const path = `${prefix}${old.name}`;
    const now = afterByName.get(old.name);
    if (now === undefined) {
      changes.push({ kind: 'removed', path, type: describeType(old.type) });
      continue;
    }
    const from = describeType(old.type);
    const to = describeType(now.type);
    if (from !== to) changes.push({ kind: 'type-changed', path, from, to });
    const oldDefault = defaultOf(old);
    const newDefault = defaultOf(now);
    if (oldDefault !== newDefault) {
      changes.push({ kind: 'default-changed', path, from: oldDefault, to: newDefault });
    }
    // Records found at the same place on both sides (same name: `describeType` compared names).
    const newRecords = nestedRecords(now.type, path);
    for (const [at, record] of nestedRecords(old.type, path)) {
      const counterpart = newRecords.get(at);
      if (counterpart?.name === record.name) changes.push(...diffFields(record, counterpart, `${at}.`));
    }
  }
  for (const field of after.fields) {
    if (beforeNames.has(field.name)) continue;
    changes.push({
      kind: 'added',
      path: `${prefix}${field.name}`,
      type: describeType(field.type),
      default: defaultOf(field),
    });
  }
  return changes;
}

/** What changed from `before` to `after`: removed and changed fields in `before`'s order, then added ones. */
export function diffSchemas(before: AvroRecord, after: AvroRecord): SchemaChange[] {
  return diffFields(before, after, '');
}
