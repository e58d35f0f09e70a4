/**
 * Key layout: `<prefix><category>:<part>:<part>...`. Each part is percent-encoded, so ':' in user input can never
 * be mistaken for a separator (userId "a:b" + mood "c" and userId "a" + mood "b:c" stay apart), and '{' '}' cannot
 * form a Cluster hash tag. Parts beginning with '@' are reserved for reprise's own index keys; encoding turns a
 * user's '@' into %40, so user input never reaches them.
 */
import type { CacheCategory } from './categories.js';

export type KeyPart = string | number;
export type CacheKey = KeyPart | readonly KeyPart[];

export const DEFAULT_KEY_PREFIX = 'reprise:';

const PREFIX_SHAPE = /^[A-Za-z0-9_.:-]{1,64}$/;

export function validateKeyPrefix(prefix: string): string {
  if (!PREFIX_SHAPE.test(prefix)) {
    throw new TypeError(
      `keyPrefix must be 1-64 characters of letters, digits, '_', '.', ':' or '-', got ${JSON.stringify(prefix)}`,
    );
  }
  return prefix;
}

/** Characters that survive encodeURIComponent unchanged; most ids are made only of these. */
const PLAIN_PART = /^[A-Za-z0-9_.!~*'()-]*$/;

function encodePart(part: KeyPart): string {
  if (typeof part === 'number') {
    if (!Number.isFinite(part)) throw new TypeError(`key parts must be finite numbers or strings, got ${part}`);
    return String(part);
  }
  if (typeof part !== 'string') throw new TypeError(`key parts must be strings or numbers, got ${typeof part}`);
  return PLAIN_PART.test(part) ? part : encodeURIComponent(part);
}

/** The encoded tail of a key (everything after `<prefix><category>:`). */
export function encodeKey(key: CacheKey): string {
  if (typeof key === 'string' || typeof key === 'number') return encodePart(key);
  if (!Array.isArray(key) || key.length === 0) throw new TypeError('a cache key is a string, a number or a non-empty array of them');
  return key.map(encodePart).join(':');
}

export function categoryPrefix(prefix: string, category: CacheCategory): string {
  return `${prefix}${category}:`;
}

/** A reserved part for reprise's own keys (indexes), out of reach of encoded user input. */
export function reservedPart(name: string): string {
  return `@${name}`;
}

/**
 * Mood prompt normalisation (SPEC): Unicode NFKC, lower case, '&' read as "and", punctuation dropped, white space
 * collapsed. "Happy & Energetic!" and "happy and energetic" are the same mood.
 */
export function normalizeMoodPrompt(moodPrompt: string): string {
  if (typeof moodPrompt !== 'string') throw new TypeError('moodPrompt must be a string');
  const normalized = moodPrompt
    .normalize('NFKC')
    .toLowerCase()
    .replace(/&/g, ' and ')
    // Apostrophes join ("don't" -> "dont"); other punctuation separates words ("lo-fi" -> "lo fi").
    .replace(/['\u2019]/gu, '')
    .replace(/\p{P}+/gu, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
  if (normalized === '') throw new TypeError(`moodPrompt ${JSON.stringify(moodPrompt)} has no words`);
  return normalized;
}
