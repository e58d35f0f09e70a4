/**
 * decodeValue reads most payloads without superjson's walk (plain JSON, or JSON with leaf annotations only). Whatever
 * path it takes, it must bring back exactly what superjson brings back, and refuse what superjson refuses.
 */
import fc from 'fast-check';
import SuperJSON from 'superjson';
import { describe, expect, it } from 'vitest';
import { DecodeError, decodeValue, encodeValue } from '../../src/cache/serializer.js';

/** superjson with reprise's invalid-Date type (binary data is not generated here). */
const reference = new SuperJSON();
reference.registerCustom<Date, string>(
  { isApplicable: (value): value is Date => value instanceof Date && Number.isNaN(value.getTime()), serialize: () => 'Invalid Date', deserialize: () => new Date(Number.NaN) },
  'InvalidDate',
);

/** An object's prototype; one without a prototype comes back as a plain object, so both count as plain. */
const prototypeOf = (value: object): unknown => Object.getPrototypeOf(value) ?? Object.prototype;

/** Same value, same types all the way down: -0, NaN, invalid Dates, key order, holes and extra array properties. */
function same(actual: unknown, expected: unknown): boolean {
  if (typeof expected !== 'object' || expected === null) return Object.is(actual, expected);
  if (typeof actual !== 'object' || actual === null) return false;
  if (prototypeOf(actual) !== prototypeOf(expected)) return false;
  if (expected instanceof Date) return Object.is((actual as Date).getTime(), expected.getTime());
  if (expected instanceof Map || expected instanceof Set) {
    const a = [...(actual as Iterable<unknown>)];
    const b = [...expected];
    return a.length === b.length && b.every((item, i) => same(a[i], item));
  }
  const a = Object.keys(actual);
  const b = Object.keys(expected);
  return a.length === b.length && b.every((key, i) => a[i] === key && same((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key]));
}

/** decodeValue of `payload` agrees with superjson: the same value, or a DecodeError where superjson fails (or finds nothing). */
function expectAgreement(payload: string): void {
  let expected: unknown;
  let refused = false;
  try {
    expected = reference.parse(payload);
  } catch {
    refused = true;
  }
  if (refused || expected === undefined) {
    expect(() => decodeValue(`r1:1:${payload}`), payload).toThrow(DecodeError);
    return;
  }
  const { value } = decodeValue(`r1:1:${payload}`);
  expect(same(value, expected), `${payload}: ${String(value)}`).toBe(true);
}

describe('decoding without superjson where it can', () => {
  it('agrees with superjson on payloads written by reprise (property-based)', () => {
    const key = fc.oneof(fc.string({ maxLength: 5 }), fc.constantFrom('a.b', 'a\\b', '\\.', '.', '', '0', '1', 'NaN', 'json', 'meta'))
      .filter((name) => name !== '__proto__' && name !== 'constructor' && name !== 'prototype');
    const leaf = fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.double(),
      fc.constantFrom(Number.NaN, -0, Infinity, -Infinity),
      fc.string({ maxLength: 6 }),
      fc.bigInt(),
      fc.date(),
      fc.constant(null).map(() => new Date(Number.NaN)),
    );
    const { value } = fc.letrec<{ value: unknown; member: unknown; array: unknown[]; object: Record<string, unknown>; map: Map<unknown, unknown>; set: Set<unknown> }>((tie) => ({
      value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object'), tie('object'), tie('map'), tie('set')),
      member: fc.oneof({ depthSize: 'small' }, fc.constant(undefined), tie('value')),
      array: fc.array(tie('member'), { maxLength: 4 }),
      object: fc.dictionary(key, tie('member'), { maxKeys: 4 }),
      map: fc.array(fc.tuple(tie('member'), tie('member')), { maxLength: 2 }).map((entries) => new Map(entries)),
      set: fc.array(tie('member'), { maxLength: 2 }).map((members) => new Set(members)),
    }));
    fc.assert(
      fc.property(value, (generated) => {
        const payload = encodeValue(generated, 1).text.slice('r1:1:'.length);
        expectAgreement(payload);
        expect(same(decodeValue(`r1:1:${payload}`).value, generated)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    // plain JSON, and shapes superjson reads without annotations
    '{"json":{"a":[1,"x",null]}}',
    '{"json":"text"}',
    '{"json":null}',
    '{"nojson":1}',
    '5',
    'null',
    '[1]',
    '"s"',
    '{"json":1,"meta":null}',
    '{"json":1,"meta":5}',
    '{"json":1,"meta":"x"}',
    '{"json":1,"meta":{}}',
    '{"json":1,"meta":{"v":1}}',
    '{"json":{"a":1},"meta":{"values":{},"v":1}}',
    '{"json":{"a":1},"meta":{"values":null,"v":1}}',
    '{"json":{"a":1},"meta":{"values":0,"v":1}}',
    '{"json":{"a":1},"meta":{"values":"a","v":1}}',
    '{"json":{"a":1},"meta":{"values":[],"v":1}}',
    // leaf annotations in odd places
    '{"json":"1970-01-01T00:00:00.005Z","meta":{"values":["Date"],"v":1}}',
    '{"json":null,"meta":{"values":["undefined"],"v":1}}',
    '{"json":"12","meta":{"values":["bigint"],"v":1}}',
    '{"json":"1.5x","meta":{"values":["bigint"],"v":1}}',
    '{"json":"-0","meta":{"values":["number"],"v":1}}',
    '{"meta":{"values":["Date"],"v":1}}',
    '{"json":{"a":"s"},"meta":{"values":{"a.b":["Date"]},"v":1}}',
    '{"json":{"a":null},"meta":{"values":{"a.b.c":["bigint"]},"v":1}}',
    '{"json":{"a":"2020-01-01"},"meta":{"values":{"a":["Date"],"a.b":["Date"]},"v":1}}',
    '{"json":{"a":{"b":"1"}},"meta":{"values":{"a.b":["bigint"],"a":["undefined"]},"v":1}}',
    '{"json":[1,2],"meta":{"values":{"x":["number"]},"v":1}}',
    '{"json":[1,"NaN"],"meta":{"values":{"1":["number"],"0":["undefined"]},"v":1}}',
    '{"json":{"":"7"},"meta":{"values":{"":["bigint"]},"v":1}}',
    '{"json":{"a":[[0,"Infinity"]]},"meta":{"values":{"a.0.1":["number"]},"v":1}}',
    '{"json":{"a":[["x"]]},"meta":{"values":{"a.00.0":["Date"]},"v":1}}',
    '{"json":{"a.b":"1"},"meta":{"values":{"a\\\\.b":["bigint"]},"v":1}}',
    '{"json":{"__proto__":{"a":"1"}},"meta":{"values":{"x":["Date"]},"v":1}}',
    '{"json":{"a":"1"},"meta":{"values":{"a":["bigint",null]},"v":1}}',
    '{"json":{"a":"1"},"meta":{"values":{"a":["Date"]},"v":0}}',
    '{"json":{"a":"1"},"meta":{"values":{"a":["Date"]}}}',
    '{"json":{"a":"1"},"meta":{"values":{"a":["Date"]},"v":2}}',
    '{"json":{"a":"1"},"meta":{"values":{"a":{"b":["Date"]}},"v":1}}',
    '{"json":{"a":{"b":1}},"meta":{"values":{"a":["number"]},"referentialEqualities":{"a":["c"]},"v":1}}',
    // what superjson's guard refuses, and names that only contain those words
    '{"json":{},"meta":{"values":{"__proto__.x":["Date"]},"v":1}}',
    '{"json":{},"meta":{"values":{"constructor":["Date"]},"v":1}}',
    '{"json":{"a":{}},"meta":{"values":{"a.prototype":["Date"]},"v":1}}',
    '{"json":{"myprototype":"1"},"meta":{"values":{"myprototype":["bigint"]},"v":1}}',
    // annotations of other kinds
    '{"json":[["a",1]],"meta":{"values":["map"],"v":1}}',
    '{"json":{"s":["1"]},"meta":{"values":{"s":["set",{"0":["bigint"]}]},"v":1}}',
    '{"json":{"r":"/a/g"},"meta":{"values":{"r":["regexp"]},"v":1}}',
    '{"json":{"e":1},"meta":{"values":{"e":["unknown"]},"v":1}}',
  ])('agrees with superjson on %s', (payload) => {
    expectAgreement(payload);
  });
});
