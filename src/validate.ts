/**
 * Checks of option values shared by every part of reprise, so one mistake reads the same wherever it is made, and is
 * always a RepriseOptionsError with a code (src/errors.ts).
 */
import { RepriseOptionsError } from './errors.js';

export { RepriseOptionsError };

/**
 * Every option name of T, each mapped to true: `{ [K in keyof Required<T>]: true }`. A list of names written as a
 * KeysEnum<T> must name every option of T and nothing else, so adding an option to an interface without adding it
 * to the list that checks names is a compile error (the pattern of express-rate-limit's validations).
 */
export type KeysEnum<T> = { [K in keyof Required<T>]: true };

/** The names of a KeysEnum, for knownKeys. */
export function optionNames<T>(names: KeysEnum<T>): ReadonlyArray<keyof T & string> {
  return Object.freeze(Object.keys(names)) as ReadonlyArray<keyof T & string>;
}

/** A finite number above 0 (seconds, milliseconds, ratios). */
export function positiveNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RepriseOptionsError(numberCode(value), name, `${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

/** A whole number within [minimum, maximum]. */
export function wholeNumber(value: unknown, name: string, minimum = 1, maximum = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum || value > maximum) {
    const range = maximum !== Number.MAX_SAFE_INTEGER
      ? `a whole number from ${minimum} to ${maximum}`
      : minimum === 1 ? 'a positive whole number' : `a whole number >= ${minimum}`;
    throw new RepriseOptionsError(numberCode(value), name, `${name} must be ${range}, got ${String(value)}`);
  }
  return value;
}

function numberCode(value: unknown): 'invalid_type' | 'out_of_range' {
  return typeof value === 'number' ? 'out_of_range' : 'invalid_type';
}

/** An option that, when given, is of this type (`invalid_type` otherwise). */
export function optionOfType(value: unknown, type: 'string' | 'function' | 'boolean', name: string): void {
  if (value === undefined || typeof value === type) return;
  const what = type === 'boolean' ? 'true or false' : `a ${type}`;
  throw new RepriseOptionsError('invalid_type', name, `${name} must be ${what}, got ${value === null ? 'null' : typeof value}`);
}

/**
 * An options object holds only the names it should: a misspelt one is an `unknown_option` error, with the closest
 * name suggested. `name` is the option holding the object (e.g. `memory`), or '' for a function's own options.
 */
export function knownKeys(value: unknown, allowed: readonly string[], name: string): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RepriseOptionsError('invalid_type', name, `${name || 'the options'} must be an object`);
  }
  const path = (key: string) => (name ? `${name}.${key}` : key);
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    const suggestion = closestName(key, allowed);
    const hint = suggestion ? `; did you mean ${path(suggestion)}?` : '';
    const label = name ? path(key) : JSON.stringify(key);
    throw new RepriseOptionsError('unknown_option', path(key), `unknown option ${label}${name ? ` (allowed: ${allowed.join(', ')})` : ''}${hint}`);
  }
}

/** The allowed name a misspelt one most likely meant: the same but for case, or at most two edits away. */
export function closestName(name: string, allowed: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const sameButCase = allowed.find((known) => known.toLowerCase() === lower);
  if (sameButCase) return sameButCase;
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.floor(name.length / 3));
  for (const known of allowed) {
    const distance = editDistance(lower, known.toLowerCase());
    if (distance <= bestDistance && (best === undefined || distance < bestDistance)) {
      best = known;
      bestDistance = distance;
    }
  }
  return best;
}

/** Edits (insert, delete, replace, swap of neighbours) between two short names. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return Infinity;
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) distance = Math.min(distance, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = distance;
    }
  }
  return rows[a.length]![b.length]!;
}

/** An environment variable, trimmed; undefined when unset or blank (an option always wins over it). */
export function fromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}
