import { describe, expect, it } from 'vitest';
import { encodeKey, InvalidKeyError, MAX_KEY_PART_LENGTH, MAX_MOOD_PROMPT_LENGTH, normalizeMoodPrompt, validateKeyPrefix } from '../../src/cache/keys.js';

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
    for (const empty of ['\u0000', '\u0001\u0007', '\u200B\u200D', '\uFEFF', '😀 ✨']) {
      expect(() => normalizeMoodPrompt(empty)).toThrow(InvalidKeyError);
    }
    expect(() => normalizeMoodPrompt(42 as never)).toThrow(/must be a string/);
  });

  it('refuses a lone surrogate and a prompt longer than the documented maximum', () => {
    expect(() => normalizeMoodPrompt('calm \uD800')).toThrow(/lone UTF-16 surrogate at index 5/);
    expect(normalizeMoodPrompt('a'.repeat(MAX_MOOD_PROMPT_LENGTH))).toHaveLength(MAX_MOOD_PROMPT_LENGTH);
    expect(() => normalizeMoodPrompt('a'.repeat(MAX_MOOD_PROMPT_LENGTH + 1))).toThrow(/at most 500/);
    // NFKC can lengthen a prompt: the limit holds after normalisation too.
    expect(() => normalizeMoodPrompt('\uFDFA'.repeat(30))).toThrow(/once normalised/);
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

  it('refuses lone surrogates and over-long parts with InvalidKeyError, never a URIError', () => {
    for (const bad of ['\uD800', 'a\uDC00b', ['ok', 'x\uD83D']]) {
      expect(() => encodeKey(bad)).toThrow(InvalidKeyError);
      expect(() => encodeKey(bad)).toThrow(/lone UTF-16 surrogate at index \d+/);
    }
    expect(encodeKey('\uD83D\uDE00')).toBe('%F0%9F%98%80'); // a whole pair is fine
    expect(encodeKey('x'.repeat(MAX_KEY_PART_LENGTH))).toHaveLength(MAX_KEY_PART_LENGTH);
    expect(() => encodeKey('x'.repeat(MAX_KEY_PART_LENGTH + 1))).toThrow(/at most 512/);
    expect(() => encodeKey(['é'.repeat(MAX_KEY_PART_LENGTH + 1)])).toThrow(InvalidKeyError);
  });

  it('treats a number and its decimal string, and a one-part array and its part, as the same key (documented)', () => {
    expect(encodeKey(1)).toBe(encodeKey('1'));
    expect(encodeKey([1])).toBe(encodeKey('1'));
    expect(encodeKey([''])).toBe(encodeKey(''));
  });

  it('accepts only plain key prefixes, and ends one without a separator with ":"', () => {
    expect(validateKeyPrefix('app')).toBe('app:');
    expect(validateKeyPrefix('app.v2')).toBe('app.v2:');
    expect(validateKeyPrefix('reprise:')).toBe('reprise:');
    expect(() => validateKeyPrefix('re*')).toThrow(/keyPrefix/);
    expect(() => validateKeyPrefix('{tag}')).toThrow(/keyPrefix/);
    expect(() => validateKeyPrefix('')).toThrow(/keyPrefix/);
  });
});
