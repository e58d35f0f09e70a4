/**
 * What `set` takes and what comes back from another instance, on a real Redis: refused values are refused before
 * either tier is written, Buffer and Uint8Array round-trip, and any mix of the supported types comes back equal.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EncodeError, MAX_VALUE_DEPTH, UnsupportedValueError, createCache, type RepriseCache } from '../../src/index.js';
import { closeAfterEachTest, useRedisServer } from '../harness/lifecycle.js';
import { recordingLogger } from '../harness/logger.js';
import { hasRedisServer } from '../harness/redis-servers.js';

/** `levels` containers nested in one another, the innermost holding `leaf`. */
function nested(levels: number, leaf: unknown): unknown {
  let value: unknown = [leaf];
  for (let i = 1; i < levels; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

/** The type a value comes back as: objects without a prototype come back as plain objects, so both are 'object'. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  if (Buffer.isBuffer(value)) return 'Buffer';
  const prototype = Object.getPrototypeOf(value) as { constructor: { name: string } } | null;
  return prototype === null || prototype === Object.prototype ? 'object' : prototype.constructor.name;
}

/** toEqual, plus what it lets pass: the type of every part (Buffer vs Uint8Array, Map, Set, Date), -0, key order. */
function expectSameValue(actual: unknown, expected: unknown, path = 'value'): void {
  expect(kindOf(actual), path).toBe(kindOf(expected));
  if (typeof expected !== 'object' || expected === null) {
    expect(Object.is(actual, expected), `${path}: ${String(actual)} vs ${String(expected)}`).toBe(true);
  } else if (expected instanceof Uint8Array) {
    expect(Buffer.compare(actual as Uint8Array, expected), path).toBe(0);
  } else if (expected instanceof Date) {
    expect(Object.is((actual as Date).getTime(), expected.getTime()), path).toBe(true);
  } else if (expected instanceof Map || expected instanceof Set || Array.isArray(expected)) {
    // Maps and Sets keep their insertion order, so entries are compared pairwise.
    const actualItems = [...(actual as Iterable<unknown>)];
    const expectedItems = [...(expected as Iterable<unknown>)];
    expect(actualItems.length, path).toBe(expectedItems.length);
    expectedItems.forEach((item, i) => expectSameValue(actualItems[i], item, `${path}[${i}]`));
  } else {
    const record = expected as Record<string, unknown>;
    expect(Object.keys(actual as object), path).toEqual(Object.keys(record));
    for (const key of Object.keys(record)) expectSameValue((actual as Record<string, unknown>)[key], record[key], `${path}.${key}`);
  }
}

describe.skipIf(!hasRedisServer)('values on a real Redis', () => {
  const server = useRedisServer();
  const opened = closeAfterEachTest<RepriseCache>();
  let prefixCounter = 0;

  /** Two instances sharing Redis under a key prefix of their own. */
  async function twoInstances(): Promise<{ writer: RepriseCache; reader: RepriseCache; prefix: string }> {
    const prefix = `values${++prefixCounter}:`;
    const open = async () => {
      const cache = await createCache({ redisUrl: server().url, keyPrefix: prefix, logger: recordingLogger(), redisCommandTimeoutMs: 2_000, redisConnectTimeoutMs: 15_000 });
      opened.push(cache);
      return cache;
    };
    return { writer: await open(), reader: await open(), prefix };
  }

  class Foo {
    x = 1;
  }
  const refused: Array<[string, () => unknown, string]> = [
    ['undefined', () => undefined, 'value is undefined'],
    ['a function', () => ({ tracks: [0, 1, 2, { play: () => 1 }] }), 'value.tracks[3].play is a function'],
    ['a symbol', () => ({ mood: Symbol('calm') }), 'value.mood is a symbol'],
    ['a symbol key', () => ({ meta: { [Symbol('calm')]: 1 } }), 'value.meta has a symbol key'],
    ['a class instance', () => ({ meta: new Foo() }), 'value.meta is an instance of Foo'],
    ['a URL', () => ({ link: new URL('https://example.com/') }), 'value.link is an instance of URL'],
    ['a Promise', () => [Promise.resolve(1)], 'value[0] is an instance of Promise'],
    ['a WeakMap', () => ({ cache: new WeakMap() }), 'value.cache is an instance of WeakMap'],
    ['a circular reference', () => {
      const value: { list: unknown[] } = { list: [] };
      value.list.push(value);
      return value;
    }, 'value.list[0] is a circular reference to value'],
    ['a symbol as a Map key', () => ({ byId: new Map([[Symbol('k'), 1]]) }), 'value.byId.keys()[0] is a symbol'],
    ['a class instance in a Set', () => ({ tags: new Set(['a', new Foo()]) }), 'value.tags.values()[1] is an instance of Foo'],
    ['a Float64Array', () => ({ samples: new Float64Array(3) }), 'value.samples is an instance of Float64Array'],
    ['a nesting too deep', () => nested(MAX_VALUE_DEPTH + 1, 1), `is nested more than ${MAX_VALUE_DEPTH} levels deep`],
  ];

  it.each(refused)('refuses %s before writing either tier, naming its path', async (_kind, make, message) => {
    const { writer, reader, prefix } = await twoInstances();
    await writer.set('track_details', 'kept', { version: 1 });

    for (const key of ['kept', 'fresh']) {
      const error = await writer.set('track_details', key, make()).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UnsupportedValueError);
      expect(error).toBeInstanceOf(EncodeError);
      expect((error as Error).message).toContain(message);
    }

    // The same instance still answers the previous value from memory, another one from Redis.
    expect(await writer.get('track_details', 'kept')).toEqual({ version: 1 });
    expect(await reader.get('track_details', 'kept')).toEqual({ version: 1 });
    expect(reader.stats().tiers.redis.hits).toBe(1);
    expect(await writer.get('track_details', 'fresh')).toBeUndefined();
    expect(await reader.get('track_details', 'fresh')).toBeUndefined();
    expect(server().cli('EXISTS', `${prefix}track_details:fresh`)).toBe('0');
  });

  it('refuses what a getOrSet factory returns when it would not round-trip, and caches nothing', async () => {
    const { writer, reader, prefix } = await twoInstances();
    await expect(writer.getOrSet('track_details', 'computed', () => ({ done: () => true }))).rejects.toThrow(/^value\.done is a function/);
    expect(server().cli('EXISTS', `${prefix}track_details:computed`)).toBe('0');
    expect(await writer.getOrSet('track_details', 'computed', () => ({ done: true }))).toEqual({ done: true });
    expect(await reader.get('track_details', 'computed')).toEqual({ done: true });
  });

  it('brings a Buffer back as a Buffer and a Uint8Array as a Uint8Array on another instance, byte for byte', async () => {
    const { writer, reader } = await twoInstances();
    const cover = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex').subarray(2);
    const thumb = new Uint8Array(new Uint8Array([7, 0, 255, 128, 1, 9]).buffer, 1, 4);
    const value = { cover, thumb, chunks: [Buffer.alloc(0), new Uint8Array(0)], byHash: new Map([[Buffer.from([1, 2]), new Uint8Array([3])]]) };
    await writer.set('track_details', 'art', value);
    await writer.set('track_details', 'raw', Buffer.from([0, 1, 2, 253, 254, 255]));
    await writer.set('track_details', 'bytes', new Uint8Array([255, 0, 42]));

    const read = await reader.get<typeof value>('track_details', 'art');
    expect(Buffer.isBuffer(read!.cover)).toBe(true);
    expect(read!.cover.equals(cover)).toBe(true);
    expect(Object.getPrototypeOf(read!.thumb)).toBe(Uint8Array.prototype);
    expect([...read!.thumb]).toEqual([0, 255, 128, 1]);
    expectSameValue(read, value);
    const raw = await reader.get<Buffer>('track_details', 'raw');
    expect(Buffer.isBuffer(raw) && raw.equals(Buffer.from([0, 1, 2, 253, 254, 255]))).toBe(true);
    const bytes = await reader.get<Uint8Array>('track_details', 'bytes');
    expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
    expect([...bytes!]).toEqual([255, 0, 42]);
  });

  it(`brings back a value nested ${MAX_VALUE_DEPTH} levels deep`, async () => {
    const { writer, reader } = await twoInstances();
    // The innermost container is the Map: MAX_VALUE_DEPTH containers in all.
    const value = nested(MAX_VALUE_DEPTH - 1, new Map([['at', new Date(1)]]));
    await writer.set('track_details', 'deep', value);
    expectSameValue(await reader.get('track_details', 'deep'), value);
  });

  it('brings any mix of the supported types back equal on another instance (property-based)', async () => {
    const { writer, reader } = await twoInstances();
    const key = fc.string({ maxLength: 6 }).filter((name) => name !== '__proto__' && name !== 'constructor' && name !== 'prototype');
    const leaf = fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.double(),
      fc.constantFrom(Number.NaN, -0, Infinity, -Infinity),
      fc.integer(),
      fc.string({ unit: 'binary', maxLength: 10 }),
      fc.bigInt(),
      fc.date(),
      fc.constant(null).map(() => new Date(Number.NaN)),
      fc.uint8Array({ maxLength: 12 }),
      fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes)),
    );
    const { value } = fc.letrec<{ value: unknown; member: unknown; array: unknown[]; object: Record<string, unknown>; map: Map<unknown, unknown>; set: Set<unknown> }>((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object'), tie('map'), tie('set')),
      // undefined is a value only inside objects and arrays (at the top it means a miss).
      member: fc.oneof({ depthSize: 'small' }, fc.constant(undefined), tie('value')),
      array: fc.array(tie('member'), { maxLength: 4 }),
      object: fc.dictionary(key, tie('member'), { maxKeys: 4 }),
      map: fc.array(fc.tuple(tie('member'), tie('member')), { maxLength: 3 }).map((entries) => new Map(entries)),
      set: fc.array(tie('member'), { maxLength: 3 }).map((members) => new Set(members)),
    }));
    let run = 0;
    await fc.assert(
      fc.asyncProperty(value, async (generated) => {
        const id = `p${++run}`;
        await writer.set('track_details', id, generated);
        const read = await reader.get('track_details', id);
        expect(read).toEqual(generated);
        expectSameValue(read, generated);
      }),
      { numRuns: 100 },
    );
    expect(reader.stats().tiers.redis.decodeErrors).toBe(0);
  });
});
