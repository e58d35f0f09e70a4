/**
 * Key layout: `<prefix><category>:<part>:<part>...`. Each part is percent-encoded, so ':' in user input can never
 * be mistaken for a separator (userId "a:b" + mood "c" and userId "a" + mood "b:c" stay apart), and '{' '}' cannot
 * form a Cluster hash tag. Parts beginning with '@' are reserved for reprise's own index keys; encoding turns a
 * user's '@' into %40, so user input never reaches them. A number and its decimal string are the same part (1 and
 * "1"), and a key of one part is that part (["a"] and "a"). A part holding a lone surrogate, or longer than
 * MAX_KEY_PART_LENGTH, is refused with InvalidKeyError before anything is read or written.
 */
import type { CacheCategory } from './categories.js';
import { RepriseInputError } from '../errors.js';
import { RepriseOptionsError } from '../validate.js';

export type KeyPart = string | number;
export type CacheKey = KeyPart | readonly KeyPart[];

export const DEFAULT_KEY_PREFIX = 'reprise:';
/** Longest key part, in UTF-16 code units: ids and short texts, not documents. */
export const MAX_KEY_PART_LENGTH = 512;
/** Longest encoded key (all its parts, percent-encoded): bounds every table keyed by it. */
export const MAX_ENCODED_KEY_LENGTH = 8 * 1024;
/** Longest mood prompt, before and after normalisation: a phrase, not a page. */
export const MAX_MOOD_PROMPT_LENGTH = 500;

/** A key part or mood prompt reprise cannot use; thrown before anything is read or written. */
export class InvalidKeyError extends RepriseInputError {
  override name = 'InvalidKeyError';
}

const PREFIX_SHAPE = /^[A-Za-z0-9_.:-]{1,64}$/;
/** A lone surrogate (half of a UTF-16 pair): not text, and no encoding can carry it. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Checks a key prefix and ends it with ':' when it does not: the category follows it, and without a separator
 * `app` + `recommendations:` would be indistinguishable from another application's `apprecommendations:` keys.
 */
export function validateKeyPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || !PREFIX_SHAPE.test(prefix)) {
    throw new RepriseOptionsError(
      typeof prefix === 'string' ? 'invalid_value' : 'invalid_type',
      'keyPrefix',
      `keyPrefix must be 1-64 characters of letters, digits, '_', '.', ':' or '-', got ${JSON.stringify(prefix)}`,
    );
  }
  return prefix.endsWith(':') ? prefix : `${prefix}:`;
}

/** Refuses text no key can be made of: too long, or holding a lone surrogate. */
function checkText(text: string, what: string, maxLength: number, details?: Record<string, unknown>): void {
  if (text.length > maxLength) throw new InvalidKeyError(`${what} is ${text.length} characters long; at most ${maxLength} are allowed`, { details });
  const surrogate = LONE_SURROGATE.exec(text);
  if (surrogate) throw new InvalidKeyError(`${what} holds a lone UTF-16 surrogate at index ${surrogate.index}: it is not well-formed Unicode`, { details });
}

/** Characters that survive encodeURIComponent unchanged; most ids are made only of these. */
const PLAIN_PART = /^[A-Za-z0-9_.!~*'()-]*$/;

function encodePart(part: KeyPart): string {
  if (typeof part === 'number') {
    if (!Number.isFinite(part)) throw new InvalidKeyError(`key parts must be finite numbers or strings, got ${part}`);
    return String(part);
  }
  if (typeof part !== 'string') throw new InvalidKeyError(`key parts must be strings or numbers, got ${typeof part}`);
  if (PLAIN_PART.test(part) && part.length <= MAX_KEY_PART_LENGTH) return part;
  checkText(part, 'a key part', MAX_KEY_PART_LENGTH);
  return encodeURIComponent(part);
}

/** The encoded tail of a key (everything after `<prefix><category>:`). */
export function encodeKey(key: CacheKey): string {
  if (typeof key === 'string' || typeof key === 'number') return encodePart(key);
  if (!Array.isArray(key) || key.length === 0) throw new InvalidKeyError('a cache key is a string, a number or a non-empty array of them');
  const encoded = key.map(encodePart).join(':');
  if (encoded.length > MAX_ENCODED_KEY_LENGTH) throw new InvalidKeyError(`a cache key is ${encoded.length} characters long once encoded; at most ${MAX_ENCODED_KEY_LENGTH} are allowed`);
  return encoded;
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
  return normalizeMood(moodPrompt, 'moodPrompt');
}

/**
 * normalizeMoodPrompt for a mood of a list: an InvalidKeyError names it `label` (e.g. `moods[2]`), carries `details`
 * (e.g. `{ field: 'moods', index: 2 }`) and does not repeat the mood back.
 */
export function normalizeListedMood(mood: string, label: string, details: Record<string, unknown>): string {
  return normalizeMood(mood, label, details);
}

function normalizeMood(moodPrompt: string, label: string, details?: Record<string, unknown>): string {
  if (typeof moodPrompt !== 'string') throw new InvalidKeyError(`${label} must be a string`, { details });
  checkText(moodPrompt, label, MAX_MOOD_PROMPT_LENGTH, details);
  const normalized = moodPrompt
    .normalize('NFKC')
    // Control and format characters (NUL, zero-width joiners, BOM) carry no words: "calm\u0000" is "calm".
    .replace(/[\p{Cc}\p{Cf}]+/gu, ' ')
    .toLowerCase()
    .replace(/&/g, ' and ')
    // Apostrophes join ("don't" -> "dont"); other punctuation separates words ("lo-fi" -> "lo fi").
    .replace(/['\u2019]/gu, '')
    .replace(/\p{P}+/gu, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
  // Letters or digits make a mood: control, format (zero-width) and symbol characters alone do not.
  if (!/[\p{L}\p{N}]/u.test(normalized)) {
    const named = details ? label : `${label} ${JSON.stringify(moodPrompt)}`;
    throw new InvalidKeyError(`${named} has no words: a mood needs at least one letter or digit`, { details });
  }
  if (normalized.length > MAX_MOOD_PROMPT_LENGTH) {
    throw new InvalidKeyError(`${label} is ${normalized.length} characters long once normalised; at most ${MAX_MOOD_PROMPT_LENGTH} are allowed`, { details });
  }
  return normalized;
}
