import { describe, expect, it } from 'vitest';
import { BadRequestError } from '#lib/errors.ts';
import { parseBody } from '#lib/http.ts';
import { FetchRequest } from '#functions/fetch/request.ts';

const parse = (body: string) => parseBody(FetchRequest, body, 'application/json');

describe('the fetch request', () => {
  it('takes a count, an optional seed and nationalities as a string or a list, any case', () => {
    expect(parse('{"count": 10}')).toEqual({ count: 10 });
    expect(parse('{"count": 10, "seed": "abc", "nat": "gb, fr"}')).toEqual({
      count: 10,
      seed: 'abc',
      nat: ['GB', 'FR'],
    });
    expect(parse('{"count": 1, "nat": ["ir"]}')).toEqual({ count: 1, nat: ['IR'] });
    expect(parse('{"count": 5000, "seed": "abc", "page": 200}')).toEqual({
      count: 5000,
      seed: 'abc',
      page: 200,
    });
  });

  it.each([
    ['not json', /^the body is not valid JSON: Unexpected token/],
    ['{"count": 0}', /count: count must be at least 1/],
    ['{"count": -5}', /count: count must be at least 1/],
    ['{"count": 2.5}', /count: count must be a whole number/],
    ['{"count": "10"}', /count: Invalid input: expected number, received string/],
    ['{}', /count: Invalid input: expected number, received undefined/],
    ['{"count": 1, "nat": "GB,XX"}', /nat: unknown nationality XX; known: AU, BR/],
    ['{"count": 1, "seed": "has space"}', /seed: seed must be 1 to 64 letters/],
    ['{"count": 1, "pages": 3}', /Unrecognized key: "pages"/],
    ['{"count": 1, "page": 0}', /page: page must be at least 1/],
    ['{"count": 1, "page": 10001}', /page: page must be at most 10000/],
    ['{"count": 1, "page": 1.5}', /page: page must be a whole number/],
  ])('refuses %s with a 400 that says what is wrong', (body, message) => {
    expect(() => parse(body)).toThrow(BadRequestError);
    expect(() => parse(body)).toThrow(message);
  });
});
