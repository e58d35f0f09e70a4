/**
 * One computation of a missing key across every process sharing Redis (`getOrSet(..., { acrossWorkers: true })`).
 *
 * The process that takes a short lease on the key (`<prefix>@compute:<key>`, SET NX PX, renewed while it computes)
 * runs the factory and stores the value before letting go. The others wait: each announcement of the key on the
 * invalidation channel (the computing process's write) wakes them at once, and a poll with growing pauses covers a
 * missed message. A lease whose process crashed expires within `leaseMs` and a waiter takes over; a factory error
 * releases the lease without storing anything, so the next waiter computes. A waiter that has waited `waitMs` in all,
 * or finds Redis not answering, computes on its own: with Redis down this is the per-process single flight.
 */
import type { Logger } from '../logger.js';
import type { RedisGateway } from '../redis/gateway.js';
import { LeaseLock } from '../redis/lease-lock.js';
import { optionNames } from '../validate.js';

export interface AcrossWorkersOptions {
  /** Longest a process waits for another's computation before computing itself (default 30 s). */
  waitMs?: number;
}

/** The names `acrossWorkers: { ... }` takes. */
export const ACROSS_WORKERS_OPTIONS = optionNames<AcrossWorkersOptions>({ waitMs: true });

/** What a look at Redis found: the value, nothing, or no answer. */
export type Found<T> = { found: true; value: T } | { found: false; answered: boolean };

export interface AcrossWorkersStats {
  /** Computations this process ran under the shared lease. */
  computed: number;
  /** Calls that received a value another process computed. */
  received: number;
  /** Leases taken over after their holder stopped (crashed, failed, or stored nothing). */
  tookOver: number;
  /** Waits that ran out (`waitMs`) or lost Redis, and computed here instead. */
  computedAlone: number;
}

export const DEFAULT_ACROSS_WORKERS_WAIT_MS = 30_000;
/** A lease outlives a crashed holder by at most this long. */
const LEASE_MS = 5_000;
const FIRST_POLL_MS = 20;
const LONGEST_POLL_MS = 250;

export class AcrossWorkers {
  private readonly waiting = new Map<string, Set<() => void>>();
  private readonly counts: AcrossWorkersStats = { computed: 0, received: 0, tookOver: 0, computedAlone: 0 };

  constructor(private readonly options: { gateway: RedisGateway; keyPrefix: string; logger: Logger }) {}

  stats(): AcrossWorkersStats {
    return { ...this.counts };
  }

  /** Wakes the callers waiting for these keys, or for every key: another instance wrote or invalidated them. */
  announced(keys: readonly string[] | 'all'): void {
    if (keys === 'all') {
      for (const key of [...this.waiting.keys()]) this.wake(key);
      return;
    }
    for (const key of keys) this.wake(key);
  }

  /**
   * The value of `fullKey`: computed here under the lease (`computeAndStore` runs the factory and writes the value),
   * or another process's, read with `lookup`. Called after a miss in both tiers.
   */
  async run<T>(fullKey: string, lookup: () => Promise<Found<T>>, computeAndStore: () => Promise<T>, waitMs: number): Promise<T> {
    const deadline = performance.now() + waitMs;
    let pause = FIRST_POLL_MS;
    let waited = false;
    for (;;) {
      const lock = new LeaseLock({
        gateway: this.options.gateway,
        key: `${this.options.keyPrefix}@compute:${fullKey}`,
        leaseMs: LEASE_MS,
        logger: this.options.logger,
        name: 'getOrSet across workers',
        quiet: true,
      });
      const lease = await lock.acquire();
      if (lease) {
        try {
          if (lease.scope === 'memory') return await this.alone(computeAndStore);
          // Whoever held the lease may have stored the value just before letting go.
          const stored = await lookup();
          if (stored.found) return this.receive(stored.value);
          if (waited) this.counts.tookOver += 1;
          this.counts.computed += 1;
          return await computeAndStore();
        } finally {
          await lease.release();
        }
      }
      waited = true;
      const remaining = deadline - performance.now();
      if (remaining <= 0) return this.alone(computeAndStore);
      await this.nextChance(fullKey, Math.min(pause, remaining));
      pause = Math.min(pause * 2, LONGEST_POLL_MS);
      const found = await lookup();
      if (found.found) return this.receive(found.value);
      if (!found.answered) return this.alone(computeAndStore);
    }
  }

  private receive<T>(value: T): T {
    this.counts.received += 1;
    return value;
  }

  private alone<T>(computeAndStore: () => Promise<T>): Promise<T> {
    this.counts.computedAlone += 1;
    return computeAndStore();
  }

  /** Resolves after `ms`, or sooner when the key is announced. */
  private nextChance(fullKey: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.waiting.get(fullKey);
      if (!waiters) this.waiting.set(fullKey, (waiters = new Set()));
      const done = () => {
        clearTimeout(timer);
        waiters!.delete(done);
        if (waiters!.size === 0 && this.waiting.get(fullKey) === waiters) this.waiting.delete(fullKey);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });
  }

  private wake(fullKey: string): void {
    const waiters = this.waiting.get(fullKey);
    if (waiters) for (const done of [...waiters]) done();
  }
}
