/** Checks of option values shared by every part of reprise, so one mistake reads the same wherever it is made. */

/** A finite number above 0 (seconds, milliseconds, ratios). */
export function positiveNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

/** A whole number within [minimum, maximum]. */
export function wholeNumber(value: unknown, name: string, minimum = 1, maximum = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum || value > maximum) {
    const range = maximum !== Number.MAX_SAFE_INTEGER
      ? `a whole number from ${minimum} to ${maximum}`
      : minimum === 1 ? 'a positive whole number' : `a whole number >= ${minimum}`;
    throw new RangeError(`${name} must be ${range}, got ${String(value)}`);
  }
  return value;
}

/** A wrong option: thrown at start, before anything is opened where possible. */
export class RepriseOptionsError extends TypeError {
  override name = 'RepriseOptionsError';
}

/**
 * An options object holds only the names it should: a misspelt one is an error, with the right spelling when close.
 * `name` is the option holding the object (e.g. `memory`), or '' for createReprise's own options.
 */
export function knownKeys(value: unknown, allowed: readonly string[], name: string): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RepriseOptionsError(`${name || 'the options'} must be an object`);
  }
  const label = (key: string) => (name ? `${name}.${key}` : JSON.stringify(key));
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    const suggestion = allowed.find((known) => known.toLowerCase() === key.toLowerCase());
    const hint = suggestion ? `; did you mean ${name ? `${name}.${suggestion}` : suggestion}?` : '';
    throw new RepriseOptionsError(`unknown option ${label(key)}${hint}${name ? ` (allowed: ${allowed.join(', ')})` : ''}`);
  }
}

/** An environment variable, trimmed; undefined when unset or blank (an option always wins over it). */
export function fromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}
