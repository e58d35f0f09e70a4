import { describe, expect, it } from 'vitest';
import { DecodeError, EncodeError, decodeValue, encodeValue } from '../../src/cache/serializer.js';

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
  });

  it('turns foreign, corrupt and hostile values into DecodeError', () => {
    for (const text of ['plain', 'r1:', 'r1:abc:{"json":1}', 'r1:1:{', 'r1:1:{"json":{},"meta":{"values":{"__proto__.x":["Date"]}}}', 'r1:1:{"nojson":1}']) {
      expect(() => decodeValue(text), text).toThrow(DecodeError);
    }
  });
});
