import { describe, expect, it } from 'vitest';
import { encodeKey, normalizeMoodPrompt, validateKeyPrefix } from '../../src/cache/keys.js';

describe('mood prompt normalisation', () => {
  it('treats "Happy & Energetic!" and "happy and energetic" as one mood', () => {
    expect(normalizeMoodPrompt('Happy & Energetic!')).toBe('happy and energetic');
    expect(normalizeMoodPrompt('  happy   and\tenergetic ')).toBe('happy and energetic');
  });

  it('applies NFKC, lower case, drops punctuation and collapses white space', () => {
    expect(normalizeMoodPrompt('Ｃａｌｍ，  Relaxing…')).toBe('calm relaxing');
    expect(normalizeMoodPrompt("Don't STOP—me now?!")).toBe('dont stop me now');
    expect(normalizeMoodPrompt('lo-fi: late\nnight')).toBe('lo fi late night');
  });

  it('rejects prompts without words with a clear error', () => {
    expect(() => normalizeMoodPrompt('?!...')).toThrow(/has no words/);
    expect(() => normalizeMoodPrompt(42 as never)).toThrow(/must be a string/);
  });
});

describe('key encoding', () => {
  it('never lets separators in one part collide with another split', () => {
    expect(encodeKey(['a:b', 'c'])).not.toBe(encodeKey(['a', 'b:c']));
    expect(encodeKey(['a%3Ab'])).not.toBe(encodeKey(['a:b']));
  });

  it('keeps plain ids readable and escapes glob, hash-tag and reserved characters', () => {
    expect(encodeKey(['user-1', 'happy and energetic', 7])).toBe('user-1:happy%20and%20energetic:7');
    expect(encodeKey('{slot}*?[x]')).toBe('%7Bslot%7D*%3F%5Bx%5D');
    expect(encodeKey('@recent')).toBe('%40recent');
  });

  it('rejects keys that are not strings, finite numbers or non-empty arrays of them', () => {
    expect(() => encodeKey([])).toThrow(TypeError);
    expect(() => encodeKey([{}] as never)).toThrow(/strings or numbers/);
    expect(() => encodeKey(Number.NaN)).toThrow(/finite/);
  });

  it('accepts only plain key prefixes', () => {
    expect(validateKeyPrefix('reprise:')).toBe('reprise:');
    expect(() => validateKeyPrefix('re*')).toThrow(/keyPrefix/);
    expect(() => validateKeyPrefix('{tag}')).toThrow(/keyPrefix/);
    expect(() => validateKeyPrefix('')).toThrow(/keyPrefix/);
  });
});
