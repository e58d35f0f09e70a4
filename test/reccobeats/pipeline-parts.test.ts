/** The pieces of the request pipeline on their own: retry decisions, Retry-After, the limiter, in-flight sharing. */
import { describe, expect, it } from 'vitest';
import { ConcurrencyLimiter } from '../../src/reccobeats/concurrency-limiter.js';
import { InFlightRequests } from '../../src/reccobeats/in-flight.js';
import { parseRetryAfter, RetryPolicy } from '../../src/reccobeats/retry-policy.js';
import { RepriseOptionsError } from '../../src/errors.js';

describe('retry policy', () => {
  it('retries timeouts, network errors, 5xx and 429, and nothing else', () => {
    const policy = new RetryPolicy({ random: () => 0.5 });
    expect(policy.decide({ kind: 'timeout' }, 0).retry).toBe(true);
    expect(policy.decide({ kind: 'network' }, 0).retry).toBe(true);
    expect(policy.decide({ kind: 'http', status: 503 }, 0).retry).toBe(true);
    expect(policy.decide({ kind: 'http', status: 429 }, 0).retry).toBe(true);
    expect(policy.decide({ kind: 'http', status: 404 }, 0)).toEqual({ retry: false, reason: 'not_retryable' });
    expect(policy.decide({ kind: 'http', status: 400 }, 0).retry).toBe(false);
    expect(policy.decide({ kind: 'invalid_response' }, 0).retry).toBe(false);
  });

  it('stops after maxRetries', () => {
    const policy = new RetryPolicy({ maxRetries: 2 });
    expect(policy.decide({ kind: 'timeout' }, 1).retry).toBe(true);
    expect(policy.decide({ kind: 'timeout' }, 2)).toEqual({ retry: false, reason: 'out_of_retries' });
  });

  it('backs off exponentially with full jitter under a ceiling', () => {
    let draw = 1 - Number.EPSILON;
    const policy = new RetryPolicy({ baseDelayMs: 100, maxDelayMs: 1_000, random: () => draw });
    expect([0, 1, 2, 3, 4, 5].map((retry) => policy.backoffMs(retry))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    draw = 0;
    expect(policy.backoffMs(3)).toBe(0);
    draw = 0.25;
    expect(policy.backoffMs(2)).toBe(100);
  });

  it('waits what a 429 asks within maxRetryAfterMs and refuses to wait longer', () => {
    const policy = new RetryPolicy({ maxRetryAfterMs: 5_000, random: () => 0 });
    expect(policy.decide({ kind: 'http', status: 429, retryAfterMs: 3_000 }, 0)).toEqual({ retry: true, delayMs: 3_000 });
    expect(policy.decide({ kind: 'http', status: 429, retryAfterMs: 6_000 }, 0)).toEqual({ retry: false, reason: 'retry_after_too_long' });
    expect(policy.decide({ kind: 'http', status: 429 }, 0)).toEqual({ retry: true, delayMs: 0 });
  });

  it('rejects nonsense bounds', () => {
    expect(() => new RetryPolicy({ maxRetries: -1 })).toThrow(RepriseOptionsError);
    expect(() => new RetryPolicy({ baseDelayMs: 500, maxDelayMs: 100 })).toThrow(expect.objectContaining({ code: 'out_of_range', option: 'retryMaxDelayMs' }));
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2025-03-01T12:00:00Z');
  it('reads delay-seconds and HTTP dates', () => {
    expect(parseRetryAfter('2', now)).toBe(2_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Sat, 01 Mar 2025 12:00:07 GMT', now)).toBe(7_000);
    expect(parseRetryAfter('Sat, 01 Mar 2025 11:59:00 GMT', now)).toBe(0);
  });
  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(null, now)).toBeNull();
    expect(parseRetryAfter('-3', now)).toBeNull();
    expect(parseRetryAfter('1.5', now)).toBeNull();
    expect(parseRetryAfter('soon', now)).toBeNull();
  });
});

describe('concurrency limiter', () => {
  it('runs at most `limit` tasks at once, in arrival order', async () => {
    const limiter = new ConcurrencyLimiter(2);
    const gates: Array<() => void> = [];
    const started: number[] = [];
    let running = 0;
    let peak = 0;
    const tasks = [0, 1, 2, 3, 4].map((index) =>
      limiter.run(async () => {
        started.push(index);
        peak = Math.max(peak, ++running);
        await new Promise<void>((resolve) => gates.push(resolve));
        running -= 1;
        return index;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(limiter.queued).toBe(3);
    while (gates.length > 0 || started.length < 5) {
      gates.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await Promise.all(tasks)).toEqual([0, 1, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
    expect(limiter.active).toBe(0);
  });

  it('frees the slot of a task that throws', async () => {
    const limiter = new ConcurrencyLimiter(1);
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run(async () => 'next')).resolves.toBe('next');
    expect(limiter.active).toBe(0);
  });
});

describe('in-flight sharing', () => {
  it('gives concurrent callers of one key one run, and forgets the key once settled', async () => {
    const inFlight = new InFlightRequests();
    let runs = 0;
    let shared = 0;
    let finish!: (value: string) => void;
    const start = () => {
      runs += 1;
      return new Promise<string>((resolve) => (finish = resolve));
    };
    const first = inFlight.share('k', start, () => shared++);
    const second = inFlight.share('k', start, () => shared++);
    finish('answer');
    expect(await Promise.all([first, second])).toEqual(['answer', 'answer']);
    expect([runs, shared, inFlight.size]).toEqual([1, 1, 0]);
    const third = inFlight.share('k', start);
    finish('again');
    expect(await third).toBe('again');
    expect(runs).toBe(2);
  });

  it('hands an error to every sharer', async () => {
    const inFlight = new InFlightRequests();
    const failing = () => Promise.reject(new Error('upstream down'));
    const calls = [inFlight.share('k', failing), inFlight.share('k', failing)];
    for (const call of calls) await expect(call).rejects.toThrow('upstream down');
    expect(inFlight.size).toBe(0);
  });
});
