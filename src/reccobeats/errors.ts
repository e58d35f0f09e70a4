/** The one error type ReccoBeats calls reject with. Messages name the route, never the base URL or IDs. */
import type { ReccobeatsEndpoint } from './types.js';

/**
 * - `http`: the API answered with a non-2xx status (after retries for 5xx);
 * - `rate_limited`: 429 still after retries, or a Retry-After longer than reprise is willing to wait;
 * - `timeout`: no complete answer within `timeoutMs` (after retries);
 * - `network`: connection refused, reset, DNS failure (after retries);
 * - `invalid_response`: a 2xx answer whose body is not the expected JSON;
 * - `closed`: the client was closed before the call could finish.
 */
export type ReccobeatsErrorKind = 'http' | 'rate_limited' | 'timeout' | 'network' | 'invalid_response' | 'closed';

export class ReccobeatsError extends Error {
  override name = 'ReccobeatsError';
  readonly kind: ReccobeatsErrorKind;
  readonly endpoint: ReccobeatsEndpoint;
  /** HTTP status of the last answer, when there was one. */
  readonly status: number | undefined;
  /** HTTP requests made for this call, retries included. */
  readonly attempts: number;
  /** What the last 429 asked for, in ms, when it said. */
  readonly retryAfterMs: number | undefined;

  constructor(details: {
    kind: ReccobeatsErrorKind;
    endpoint: ReccobeatsEndpoint;
    message: string;
    status?: number;
    attempts: number;
    retryAfterMs?: number;
  }) {
    super(`ReccoBeats ${details.endpoint}: ${details.message}`);
    this.kind = details.kind;
    this.endpoint = details.endpoint;
    this.status = details.status;
    this.attempts = details.attempts;
    this.retryAfterMs = details.retryAfterMs;
  }
}
