/**
 * When to try a ReccoBeats request again and how long to wait first. Timeouts, network errors and 5xx are retried
 * after an exponential backoff with full jitter (a random wait between 0 and the exponential ceiling), so many
 * workers that failed together do not retry together. A 429 waits what its Retry-After says, within a bound.
 */
import { knownKeys, optionNames, optionOfType, wholeNumber } from '../validate.js';

export interface RetryPolicyOptions {
  /** Retries after the first attempt (default 3). */
  maxRetries?: number;
  /** Ceiling of the first backoff (default 250 ms); it doubles per retry. */
  baseDelayMs?: number;
  /** Largest backoff ceiling (default 8 s). */
  maxDelayMs?: number;
  /** Longest Retry-After reprise waits out; a 429 asking for longer fails at once (default 30 s). */
  maxRetryAfterMs?: number;
  /** Source of randomness in [0, 1) (default Math.random). */
  random?: () => number;
}

const RETRY_POLICY_OPTIONS = optionNames<RetryPolicyOptions>({ maxRetries: true, baseDelayMs: true, maxDelayMs: true, maxRetryAfterMs: true, random: true });

export type AttemptOutcome =
  | { kind: 'success' }
  | { kind: 'invalid_response' }
  | { kind: 'timeout' }
  | { kind: 'network' }
  | { kind: 'http'; status: number; retryAfterMs?: number | undefined };

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: 'not_retryable' | 'out_of_retries' | 'retry_after_too_long' };

export class RetryPolicy {
  readonly maxRetries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxRetryAfterMs: number;
  private readonly random: () => number;

  constructor(options: RetryPolicyOptions = {}) {
    knownKeys(options, RETRY_POLICY_OPTIONS, '');
    optionOfType(options.random, 'function', 'random');
    this.maxRetries = wholeNumber(options.maxRetries ?? 3, 'maxRetries', 0);
    this.baseDelayMs = wholeNumber(options.baseDelayMs ?? 250, 'retryBaseDelayMs', 0);
    this.maxDelayMs = wholeNumber(options.maxDelayMs ?? 8_000, 'retryMaxDelayMs', this.baseDelayMs);
    this.maxRetryAfterMs = wholeNumber(options.maxRetryAfterMs ?? 30_000, 'maxRetryAfterMs', 0);
    this.random = options.random ?? Math.random;
  }

  /** `retriesSoFar` retries have been made; `outcome` is what the latest attempt got. */
  decide(outcome: AttemptOutcome, retriesSoFar: number): RetryDecision {
    if (!isRetryable(outcome)) return { retry: false, reason: 'not_retryable' };
    if (retriesSoFar >= this.maxRetries) return { retry: false, reason: 'out_of_retries' };
    if (outcome.kind === 'http' && outcome.status === 429 && outcome.retryAfterMs !== undefined) {
      if (outcome.retryAfterMs > this.maxRetryAfterMs) return { retry: false, reason: 'retry_after_too_long' };
      return { retry: true, delayMs: outcome.retryAfterMs };
    }
    return { retry: true, delayMs: this.backoffMs(retriesSoFar) };
  }

  /** Full jitter: uniform in [0, min(maxDelay, base * 2^retry)]. */
  backoffMs(retriesSoFar: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** retriesSoFar);
    return Math.round(this.random() * ceiling);
  }
}

export function isRetryable(outcome: AttemptOutcome): boolean {
  switch (outcome.kind) {
    case 'timeout':
    case 'network':
      return true;
    case 'http':
      return outcome.status === 429 || outcome.status >= 500;
    default:
      return false;
  }
}

/**
 * Retry-After as milliseconds to wait: delay-seconds ("120") or an HTTP date, counted from `now`.
 * Null when absent or unreadable; a date in the past means 0.
 */
export function parseRetryAfter(header: string | null | undefined, now: number = Date.now()): number | null {
  if (header === null || header === undefined) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1_000;
  if (!/[a-z]/i.test(value)) return null;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}
