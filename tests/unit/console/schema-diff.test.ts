import { describe, expect, it } from 'vitest';
import { describeType, diffSchemas, isAvroRecord } from '#functions/console/schema-diff.ts';
import type { AvroField, AvroRecord } from '#functions/console/schema-diff.ts';

const record = (fields: AvroField[], name = 'UserEvent'): AvroRecord => ({ type: 'record', name, fields });

describe('diffSchemas', () => {
  it('finds nothing between a schema and itself, field order aside', () => {
    const fields: AvroField[] = [
      { name: 'user_key', type: { type: 'string', logicalType: 'uuid' } },
      { name: 'version', type: 'int' },
    ];
    expect(diffSchemas(record(fields), record([...fields].reverse()))).toEqual([]);
  });

  it('names added, removed and retyped fields, with their types as text', () => {
    const before = record([
      { name: 'version', type: 'int' },
      { name: 'legacy', type: 'string' },
    ]);
    const after = record([
      { name: 'version', type: 'long' },
      { name: 'nat', type: ['null', 'string'], default: null },
      { name: 'cell', type: 'string' },
    ]);
    expect(diffSchemas(before, after)).toEqual([
      { kind: 'type-changed', path: 'version', from: 'int', to: 'long' },
      { kind: 'removed', path: 'legacy', type: 'string' },
      { kind: 'added', path: 'nat', type: '[null, string]', default: 'null' },
      { kind: 'added', path: 'cell', type: 'string', default: null },
    ]);
  });

  it('sees a default added, changed or dropped, and equal defaults whatever their key order', () => {
    const before = record([
      { name: 'email', type: 'string' },
      { name: 'count', type: 'int', default: 1 },
      { name: 'title', type: 'string', default: 'Mx' },
      { name: 'meta', type: { type: 'map', values: 'int' }, default: { a: 1, b: 2 } },
    ]);
    const after = record([
      { name: 'email', type: 'string', default: '' },
      { name: 'count', type: 'int', default: 2 },
      { name: 'title', type: 'string' },
      { name: 'meta', type: { type: 'map', values: 'int' }, default: { b: 2, a: 1 } },
    ]);
    expect(diffSchemas(before, after)).toEqual([
      { kind: 'default-changed', path: 'email', from: null, to: '""' },
      { kind: 'default-changed', path: 'count', from: '1', to: '2' },
      { kind: 'default-changed', path: 'title', from: '"Mx"', to: null },
    ]);
  });

  it('compares nested records field by field, by dotted path, through unions and arrays', () => {
    const address = (fields: AvroField[]): AvroRecord => record(fields, 'Address');
    const before = record([
      {
        name: 'home',
        type: address([
          { name: 'city', type: 'string' },
          { name: 'zip', type: 'int' },
        ]),
      },
      { name: 'work', type: ['null', address([{ name: 'city', type: 'string' }])], default: null },
      { name: 'past', type: { type: 'array', items: address([{ name: 'city', type: 'string' }]) } },
    ]);
    const after = record([
      {
        name: 'home',
        type: address([
          { name: 'city', type: 'string' },
          { name: 'zip', type: 'string' },
        ]),
      },
      {
        name: 'work',
        type: [
          'null',
          address([
            { name: 'city', type: 'string' },
            { name: 'floor', type: 'int', default: 0 },
          ]),
        ],
        default: null,
      },
      { name: 'past', type: { type: 'array', items: address([]) } },
    ]);
    expect(diffSchemas(before, after)).toEqual([
      { kind: 'type-changed', path: 'home.zip', from: 'int', to: 'string' },
      { kind: 'added', path: 'work.floor', type: 'int', default: '0' },
      { kind: 'removed', path: 'past[].city', type: 'string' },
    ]);
  });

  it('reports a record replaced by another as a type change, without comparing their fields', () => {
    const before = record([{ name: 'place', type: record([{ name: 'city', type: 'string' }], 'Address') }]);
    const after = record([{ name: 'place', type: record([{ name: 'lat', type: 'double' }], 'Point') }]);
    expect(diffSchemas(before, after)).toEqual([
      { kind: 'type-changed', path: 'place', from: 'Address', to: 'Point' },
    ]);
  });
});

describe('describeType', () => {
  it('writes each kind of type as the panel shows it', () => {
    expect(describeType({ type: 'string' })).toBe('string');
    expect(describeType({ type: 'long', logicalType: 'timestamp-millis' })).toBe('long (timestamp-millis)');
    expect(describeType({ type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 })).toBe(
      'bytes (decimal 10,2)',
    );
    expect(describeType({ type: 'enum', name: 'Gender', symbols: ['female', 'male'] })).toBe(
      'Gender {female, male}',
    );
    expect(describeType({ type: 'fixed', name: 'Md5', size: 16 })).toBe('Md5 (fixed 16)');
    expect(describeType({ type: 'map', values: { type: 'array', items: 'int' } })).toBe('map<array<int>>');
    // A record and a later reference to it by name read the same.
    expect(describeType(record([], 'Address'))).toBe(describeType('Address'));
  });
});

describe('isAvroRecord', () => {
  it('accepts a record schema and nothing else', () => {
    expect(isAvroRecord(record([{ name: 'a', type: 'int' }]))).toBe(true);
    expect(isAvroRecord({ type: 'enum', name: 'E', symbols: [] })).toBe(false);
    expect(isAvroRecord({ type: 'record', name: 'R', fields: [{ type: 'int' }] })).toBe(false);
    expect(isAvroRecord('string')).toBe(false);
    expect(isAvroRecord(null)).toBe(false);
  });
});
