import SuperJSON from 'superjson';
import { describe, expect, it } from 'vitest';
import { DecodeError, EncodeError, MAX_VALUE_DEPTH, UnsupportedValueError, decodeValue, encodeValue } from '../../src/cache/serializer.js';

const roundTrip = (value: unknown): unknown => decodeValue(encodeValue(value, 1).text).value;

/** `levels` containers nested in one another, the innermost holding `leaf`. */
function nested(levels: number, leaf: unknown): unknown {
  let value: unknown = [leaf];
  for (let i = 1; i < levels; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

describe('value envelope', () => {
  it('round-trips rich values with their expiry', () => {
    const value = { when: new Date(5), ids: new Map([[1, new Set(['a'])]]), big: 12345678901234567890n, empty: [], obj: {} };
    const { text, size } = encodeValue(value, 1_700_000_000_000);
    expect(text.startsWith('r1:1700000000000:')).toBe(true);
    expect(size).toBe(text.length);
    const decoded = decodeValue(text);
    expect(decoded.expiresAt).toBe(1_700_000_000_000);
    expect(decoded.value).toEqual(value);
  });

  it('refuses to cache undefined, the value that means a miss', () => {
    expect(() => encodeValue(undefined, 1)).toThrow(EncodeError);
    expect(() => encodeValue(undefined, 1)).toThrow(new UnsupportedValueError('value', 'is undefined, which is how a miss is reported: cache null for "nothing"'));
  });

  it('turns foreign, corrupt and hostile values into DecodeError', () => {
    for (const text of [
      'plain',
      'r1:',
      'r1:abc:{"json":1}',
      'r1:1:{',
      'r1:1:{"json":{},"meta":{"values":{"__proto__.x":["Date"]}}}',
      'r1:1:{"nojson":1}',
      'r1:1:{"json":1,"meta":{"values":[["custom","Buffer"]],"v":1}}',
      'r1:1:{"json":"AA==","meta":{"values":[["custom","Function"]],"v":1}}',
    ]) {
      expect(() => decodeValue(text), text).toThrow(DecodeError);
    }
  });
});

describe('values that round-trip', () => {
  it('keeps NaN, ±Infinity, -0, bigint, undefined inside objects and arrays, and invalid Dates', () => {
    const value = { nan: Number.NaN, inf: Infinity, negInf: -Infinity, negZero: -0, big: -(2n ** 80n), gone: undefined, list: [undefined, -0, 1], bad: new Date(Number.NaN) };
    const back = roundTrip(value) as typeof value;
    expect(back).toEqual(value);
    expect(Object.is(back.negZero, -0)).toBe(true);
    expect(Object.keys(back)).toEqual(Object.keys(value));
    expect(back.list).toHaveLength(3);
    expect(back.bad).toBeInstanceOf(Date);
    expect(Number.isNaN(back.bad.getTime())).toBe(true);
  });

  it('brings a Buffer back as a Buffer and a Uint8Array as a Uint8Array, byte for byte', () => {
    const pool = Buffer.from('0123456789abcdef');
    const buffer = pool.subarray(3, 9);
    const view = new Uint8Array(new Uint8Array([9, 0, 255, 128, 7]).buffer, 1, 3);
    const back = roundTrip({ buffer, view, empty: Buffer.alloc(0), inMap: new Map([[Buffer.from([1]), new Uint8Array([2])]]) }) as Record<string, unknown>;
    expect(Buffer.isBuffer(back.buffer)).toBe(true);
    expect((back.buffer as Buffer).equals(buffer)).toBe(true);
    expect(Object.getPrototypeOf(back.view)).toBe(Uint8Array.prototype);
    expect([...(back.view as Uint8Array)]).toEqual([0, 255, 128]);
    expect(Buffer.isBuffer(back.empty) && (back.empty as Buffer).length === 0).toBe(true);
    const [[key, item]] = [...(back.inMap as Map<unknown, unknown>)] as [[Buffer, Uint8Array]];
    expect(Buffer.isBuffer(key) && key[0] === 1).toBe(true);
    expect(Object.getPrototypeOf(item) === Uint8Array.prototype && item[0] === 2).toBe(true);
  });

  it('accepts objects without a prototype (they come back as plain objects) and strings of any code units', () => {
    const bare = Object.assign(Object.create(null) as object, { a: 1, 'b.c': '\ud800 lone', [''.padEnd(3, '\\')]: [] });
    expect(roundTrip(bare)).toEqual({ ...bare });
  });

  it('writes the format superjson itself reads: what it brings back equals what superjson would', () => {
    const values = [
      { a: undefined, 'x.y': { 'b\\c': new Date(1) }, '': [Number.NaN, -0, { z: 1n }] },
      [undefined, [new Map<unknown, unknown>([[{ k: new Date(9) }, new Set([new Date(2)])]])]],
      new Map([[new Map([[1n, 2n]]), new Map([['q', [undefined]]])]]),
      new Set([new Set([new Date(3)]), 'x']),
      { m: new Map(), s: new Set(), arr: [], o: {} },
    ];
    const plainSuperjson = new SuperJSON();
    for (const value of values) {
      const payload = encodeValue(value, 1).text.slice('r1:1:'.length);
      expect(plainSuperjson.parse(payload)).toEqual(plainSuperjson.parse(plainSuperjson.stringify(value)));
    }
  });

  it('still reads what the global superjson wrote', () => {
    const value = { at: new Date(7), ids: new Set([1n]), typed: new Uint8Array([1, 2]) };
    expect(decodeValue(`r1:1:${SuperJSON.stringify(value)}`).value).toEqual(value);
  });

  it('hands plain JSON to JSON.stringify as it is, so a shared subtree is written at each place', () => {
    const shared = { id: 1 };
    const { text } = encodeValue({ a: shared, b: [shared] }, 1);
    expect(text).toBe('r1:1:{"json":{"a":{"id":1},"b":[{"id":1}]}}');
  });

  it(`accepts ${MAX_VALUE_DEPTH} levels of nesting`, () => {
    const value = nested(MAX_VALUE_DEPTH, new Date(1));
    expect(roundTrip(value)).toEqual(value);
  });
});

describe('values that would not round-trip are refused with the path of the offending part', () => {
  class Foo {
    x = 1;
  }
  class Track {
    play(): void {}
  }
  const sym = Symbol('mood');
  const cases: Array<[string, () => unknown, string]> = [
    ['a function', () => ({ tracks: [0, 1, 2, { id: 'x', play: () => 1 }] }), 'value.tracks[3].play is a function'],
    ['a function at the top', () => () => 1, 'value is a function'],
    ['a symbol', () => ({ mood: sym }), 'value.mood is a symbol (Symbol(mood))'],
    ['a symbol key', () => ({ meta: { [sym]: 1, ok: true } }), 'value.meta has a symbol key (Symbol(mood))'],
    ['a class instance', () => ({ list: [new Foo()] }), 'value.list[0] is an instance of Foo'],
    ['a class instance with methods', () => [new Track()], 'value[0] is an instance of Track'],
    ['an anonymous class instance', () => ({ x: new (class {})() }), 'value.x is an object of an unnamed class'],
    ['an object with a custom prototype', () => ({ x: Object.create({ inherited: 1 }) as object }), 'value.x is an object with a prototype of its own'],
    ['a URL', () => ({ link: new URL('https://example.com') }), 'value.link is an instance of URL'],
    ['a Promise', () => ({ later: Promise.resolve(1) }), 'value.later is an instance of Promise'],
    ['a WeakMap', () => ({ weak: new WeakMap() }), 'value.weak is an instance of WeakMap'],
    ['a RegExp', () => ({ pattern: /a/g }), 'value.pattern is an instance of RegExp'],
    ['an Error', () => ({ failure: new RangeError('x') }), 'value.failure is an instance of RangeError'],
    ['a boxed string', () => ({ s: new String('x') }), 'value.s is an instance of String'],
    ['a Date subclass', () => ({ d: new (class Day extends Date {})(0) }), 'value.d is an instance of Day'],
    ['an Array subclass', () => ({ l: new (class List extends Array {})() }), 'value.l is an instance of List'],
    ['a Float64Array', () => ({ f: new Float64Array(2) }), 'value.f is an instance of Float64Array'],
    ['an ArrayBuffer', () => ({ raw: new ArrayBuffer(2) }), 'value.raw is an instance of ArrayBuffer'],
    ['a circular reference', () => {
      const list: unknown[] = [];
      const value = { a: { list } };
      list.push(1, { back: value.a });
      return value;
    }, 'value.a.list[1].back is a circular reference to value.a'],
    ['a value containing itself', () => {
      const value: Record<string, unknown> = {};
      value.self = value;
      return value;
    }, 'value.self is a circular reference to value'],
    ['a Map holding itself', () => {
      const map = new Map<string, unknown>();
      map.set('me', map);
      return { map };
    }, 'value.map.get("me") is a circular reference to value.map'],
    ['a symbol as a Map key', () => ({ meta: new Map<unknown, string>([[1, 'a'], [sym, 'b']]) }), 'value.meta.keys()[1] is a symbol (Symbol(mood))'],
    ['a function inside a Map key', () => ({ meta: new Map([[{ f: () => 1 }, 1]]) }), 'value.meta.keys()[0].f is a function'],
    ['a function as a Map value', () => new Map([['play', () => 1]]), 'value.get("play") is a function'],
    ['a Map value under an object key', () => new Map<unknown, unknown>([[{ k: 1 }, sym]]), 'value.values()[0] is a symbol'],
    ['a Set member', () => ({ tags: new Set(['a', 'b', new Foo()]) }), 'value.tags.values()[2] is an instance of Foo'],
    ['a hole', () => ({ list: [1, , 3] }), 'value.list[1] is a hole in a sparse array'],
    ['a key superjson refuses', () => ({ a: { constructor: 'x' } }), 'value.a.constructor is a key superjson refuses'],
    ['an odd key', () => ({ 'my key': { 'a.b': () => 1 } }), 'value["my key"]["a.b"] is a function'],
    ['a nesting too deep', () => nested(MAX_VALUE_DEPTH + 1, 1), `is nested more than ${MAX_VALUE_DEPTH} levels deep`],
  ];

  it.each(cases)('%s', (_kind, make, message) => {
    let error: unknown;
    try {
      encodeValue(make(), 1);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UnsupportedValueError);
    expect(error).toBeInstanceOf(EncodeError);
    expect(error).toBeInstanceOf(TypeError);
    const { message: actual, name, path } = error as UnsupportedValueError;
    expect(name).toBe('UnsupportedValueError');
    expect(actual).toContain(message);
    expect(actual.startsWith(path)).toBe(true);
  });

  it('names a very deep path by its ends, and never overflows the stack', () => {
    const error = (() => {
      try {
        encodeValue(nested(50 * MAX_VALUE_DEPTH, 1), 1);
      } catch (caught) {
        return caught as UnsupportedValueError;
      }
    })();
    expect(error).toBeInstanceOf(UnsupportedValueError);
    expect(error!.message).toMatch(/^value(\.a|\[0\]){12}…\(980 more steps\)…(\.a|\[0\]){8} is nested more than 1000 levels deep$/);
    expect(error!.message.length).toBeLessThan(300);
  });

  it('tells the kinds of binary data it does take', () => {
    expect(() => encodeValue({ f: new Int16Array(1) }, 1)).toThrow(/store binary data as a Buffer or Uint8Array/);
  });

  it('wraps an error thrown while reading the value in an EncodeError', () => {
    const value = {
      get broken(): never {
        throw new Error('no access');
      },
    };
    expect(() => encodeValue(value, 1)).toThrow(new EncodeError('value cannot be serialized: no access'));
  });
});
