/**
 * The `reccobeats` options of SPEC (`baseUrl` [RECCOBEATS_BASE_URL], `timeoutMs`, `batchSize`, `maxConcurrency`)
 * plus the retry bounds, checked and given their defaults. The option wins over the variable.
 */
import { MAX_IDS_PER_REQUEST } from './types.js';
import { fromEnv, optionNames, RepriseOptionsError, wholeNumber, type KeysEnum } from '../validate.js';

export const DEFAULT_RECCOBEATS_BASE_URL = 'https://api.reccobeats.com';

export interface ReccobeatsOptions {
  /** Where the API lives. [RECCOBEATS_BASE_URL], default https://api.reccobeats.com */
  baseUrl?: string;
  /** Deadline of one HTTP request, body included (default 15 000 ms). */
  timeoutMs?: number;
  /** Spotify IDs per `GET /v1/track?ids=` when converting, 1 to 40 (default 40). */
  batchSize?: number;
  /** HTTP requests in flight at once from this client (default 4). */
  maxConcurrency?: number;
  /** Retries after a timeout, network error, 5xx or 429 (default 3). */
  maxRetries?: number;
  /** Ceiling of the first retry backoff, doubling per retry (default 250 ms). */
  retryBaseDelayMs?: number;
  /** Largest backoff ceiling (default 8000 ms). */
  retryMaxDelayMs?: number;
  /** Longest Retry-After waited out; a 429 asking for longer fails at once (default 30 000 ms). */
  maxRetryAfterMs?: number;
}

/** Every name `reccobeats` takes (the compiler keeps it complete); the client's own options add theirs to it. */
export const RECCOBEATS_OPTION_KEYS: KeysEnum<ReccobeatsOptions> = {
  baseUrl: true, timeoutMs: true, batchSize: true, maxConcurrency: true, maxRetries: true, retryBaseDelayMs: true,
  retryMaxDelayMs: true, maxRetryAfterMs: true,
};
export const RECCOBEATS_OPTIONS = optionNames<ReccobeatsOptions>(RECCOBEATS_OPTION_KEYS);

export interface ResolvedReccobeatsOptions {
  baseUrl: URL;
  timeoutMs: number;
  batchSize: number;
  maxConcurrency: number;
}

export function resolveReccobeatsOptions(options: ReccobeatsOptions, env: NodeJS.ProcessEnv = process.env): ResolvedReccobeatsOptions {
  return {
    baseUrl: parseBaseUrl(options.baseUrl ?? fromEnv(env, 'RECCOBEATS_BASE_URL') ?? DEFAULT_RECCOBEATS_BASE_URL),
    timeoutMs: wholeNumber(options.timeoutMs ?? 15_000, 'reccobeats.timeoutMs'),
    batchSize: wholeNumber(options.batchSize ?? MAX_IDS_PER_REQUEST, 'reccobeats.batchSize', 1, MAX_IDS_PER_REQUEST),
    maxConcurrency: wholeNumber(options.maxConcurrency ?? 4, 'reccobeats.maxConcurrency', 1, 1_000),
  };
}

/** An http(s) URL without query or fragment; a path prefix (e.g. behind a proxy) is kept. */
function parseBaseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidUrl('reccobeats.baseUrl must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidUrl('reccobeats.baseUrl must use http or https');
  // fetch refuses URLs with credentials, and they would end up in logs; ReccoBeats needs none.
  if (url.username || url.password) throw invalidUrl('reccobeats.baseUrl must not carry credentials');
  if (url.search || url.hash) throw invalidUrl('reccobeats.baseUrl must not carry a query or fragment');
  return url;
}

function invalidUrl(message: string): RepriseOptionsError {
  return new RepriseOptionsError('invalid_url', 'reccobeats.baseUrl', message);
}
