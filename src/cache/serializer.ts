/**
 * What goes into Redis: `r1:<expiresAtMs>:<superjson>`. superjson is JSON plus type annotations, so Date, Map, Set,
 * BigInt (and undefined inside objects) come back as they went in, and parsing it never evaluates anything. The
 * expiry travels with the value, so a Redis hit can fill the memory tier with the remaining TTL in one GET.
 * Anything without the `r1:` envelope (a foreign or corrupt value) is a DecodeError, which readers count as a miss.
 */
import superjson from 'superjson';

const ENVELOPE = 'r1:';

export class DecodeError extends Error {
  override name = 'DecodeError';
}

export class EncodeError extends TypeError {
  override name = 'EncodeError';
}

export interface Encoded {
  text: string;
  /** Approximate size in bytes (UTF-16 length of the payload), used for the memory tier's byte bound. */
  size: number;
}

export function encodeValue(value: unknown, expiresAt: number): Encoded {
  if (value === undefined) throw new EncodeError('cannot cache undefined: it is how a miss is reported');
  let payload: string;
  try {
    payload = superjson.stringify(value);
  } catch (error) {
    throw new EncodeError(`value cannot be serialized: ${(error as Error).message}`);
  }
  const text = `${ENVELOPE}${expiresAt}:${payload}`;
  return { text, size: text.length };
}

export interface Decoded {
  value: unknown;
  expiresAt: number;
}

export function decodeValue(text: string): Decoded {
  if (!text.startsWith(ENVELOPE)) throw new DecodeError('not a reprise value');
  const separator = text.indexOf(':', ENVELOPE.length);
  const expiresAt = Number(text.slice(ENVELOPE.length, separator));
  if (separator === -1 || !Number.isFinite(expiresAt)) throw new DecodeError('malformed reprise envelope');
  let value: unknown;
  try {
    value = superjson.parse(text.slice(separator + 1));
  } catch (error) {
    throw new DecodeError(`corrupt reprise value: ${(error as Error).message}`);
  }
  if (value === undefined) throw new DecodeError('reprise value decoded to undefined');
  return { value, expiresAt };
}
