/**
 * A lock shared by every process on one Redis: `SET key token NX PX lease`. Only the owner (the holder of the token)
 * can extend it (compare-and-PEXPIRE) or release it (compare-and-DEL), both atomic in Lua. A held lease is renewed
 * in the background; if its holder dies, renewals stop and the key expires, so another process can take over.
 * The owner may also write other keys under the lock's protection ("fenced" writes): a write, or a release with final
 * writes, happens only while the lease still owns the lock, in one atomic step. On a Cluster those keys must share
 * the lock key's hash slot (give them the same hash tag).
 *
 * Without Redis the lock lives in this process only. When Redis is configured but unavailable, it degrades to that
 * and says so in a log line: other processes may then hold their own lease at the same time.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { RedisGateway, Unanswered } from './gateway.js';
import { LuaScript } from './lua-script.js';
import { RepriseInputError } from '../errors.js';
import { RepriseOptionsError, wholeNumber } from '../validate.js';

/**
 * SET NX PX, repairing a lock key no lease of ours could have left: one without a TTL (set by hand, or a TTL lost to
 * a restore) or of another type would otherwise block every caller forever. 1: taken, 2: taken after a repair, 0: held.
 */
const ACQUIRE = new LuaScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  return 1
end
if redis.call('TYPE', KEYS[1]).ok ~= 'string' or redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0`);

const RENEW = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`);

/** KEYS[1] the lock, KEYS[2..] keys to set; ARGV[1] the token, then a value and a TTL (ms) per key to set. */
const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2 * i - 2], 'PX', ARGV[2 * i - 1])
end
return redis.call('DEL', KEYS[1])`);

const FENCED_SET = new LuaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1`);


export interface LeaseLockOptions {
  gateway: RedisGateway;
  /** The Redis key holding the owner's token. */
  key: string;
  /** How long a lease lasts without renewal. */
  leaseMs: number;
  /** How often a held lease is extended (default: a third of the lease). */
  renewEveryMs?: number;
  logger: Logger;
  /** What the lock guards, for log lines. */
  name?: string;
  /** Say at debug level, not as a warning, that the lock fell back to this process (for short, frequent leases). */
  quiet?: boolean;
}

/** A key written together with the release, only if the lease still owns the lock. */
export interface FencedWrite {
  key: string;
  value: string;
  ttlMs: number;
}

export interface Lease {
  readonly token: string;
  /** 'redis': shared by every process on that Redis; 'memory': this process only. */
  readonly scope: 'redis' | 'memory';
  /** Aborted if the lease is lost: a renewal found the key gone or owned by someone else. */
  readonly signal: AbortSignal;
  readonly released: boolean;
  /**
   * Sets `key` only while this lease owns the lock; true when written. A memory lease has nowhere shared to write:
   * false.
   */
  write(key: string, value: string, ttlMs: number): Promise<boolean>;
  /**
   * Gives the lock up if this lease still owns it, setting `finalWrites` in the same atomic step (skipped, like the
   * release, when the lease was lost). Never throws; safe to call twice.
   */
  release(finalWrites?: readonly FencedWrite[]): Promise<void>;
}

export class LeaseLock {
  readonly key: string;
  readonly leaseMs: number;
  private readonly renewEveryMs: number;
  private readonly gateway: RedisGateway;
  private readonly logger: Logger;
  private readonly name: string;
  private readonly quiet: boolean;
  private held: HeldLease | null = null;

  constructor(options: LeaseLockOptions) {
    this.key = options.key;
    this.leaseMs = wholeNumber(options.leaseMs, 'leaseMs');
    this.renewEveryMs = wholeNumber(options.renewEveryMs ?? Math.max(1, Math.floor(this.leaseMs / 3)), 'renewEveryMs');
    if (this.renewEveryMs >= this.leaseMs) throw new RepriseOptionsError('conflicting_options', 'renewEveryMs', 'renewEveryMs must be shorter than leaseMs');
    this.gateway = options.gateway;
    this.logger = options.logger;
    this.name = options.name ?? options.key;
    this.quiet = options.quiet ?? false;
  }

  /**
   * A lease carrying `token`, or null when someone (here or in another process) holds the lock. A lock key without
   * expiry, or of another type, is no live lease: it is replaced, and the replacement logged.
   */
  async acquire(token: string = randomUUID()): Promise<Lease | null> {
    if (typeof token !== 'string' || token === '') throw new RepriseInputError('a lease token is a non-empty string');
    if (this.heldHere()) return null;
    if (!this.gateway.client) return this.hold(token, 'memory');

    const taken = await this.gateway.attempt('lock.acquire', (client) => ACQUIRE.run(client, [this.key], [token, this.leaseMs]), { write: true });
    // Another caller in this process may have taken a local lease while we waited.
    if (this.heldHere()) {
      if (taken.ok && isTaken(taken.value)) await this.releaseInRedis(token, []);
      else if (!taken.ok) this.settleLate(taken, token, null);
      return null;
    }
    if (taken.ok) {
      if (!isTaken(taken.value)) return null;
      if (Number(taken.value) === 2) this.logger.warn(`${this.name}: the lock key had no expiry or was not a lock; replaced`);
      return this.hold(token, 'redis');
    }
    const say = this.quiet ? this.logger.debug : this.logger.warn;
    say.call(this.logger, `${this.name}: Redis did not take the lock (${taken.reason}); held in this process only, other processes may run at the same time`);
    const lease = this.hold(token, 'memory');
    this.settleLate(taken, token, this.held);
    return lease;
  }

  /**
   * A SET NX given up on may still land. If it did, the lock in Redis names this token: the lease still running
   * here takes it over (renewing and releasing it in Redis), and one already given up releases it, so no finished
   * job keeps the lock.
   */
  private settleLate(taken: Unanswered<unknown>, token: string, held: HeldLease | null): void {
    void taken.late?.then(async (landed) => {
      if (!landed || !isTaken(landed.value)) return;
      if (held && !held.released && this.held === held) {
        held.scope = 'redis';
        this.logger.info(`${this.name}: the lock's late SET landed; the running lease now holds it in Redis`);
        return;
      }
      await this.releaseInRedis(token, []);
    });
  }

  /** The token of the current holder: null when free, undefined when Redis cannot tell right now. */
  async holder(): Promise<string | null | undefined> {
    if (this.heldHere()) return this.held!.token;
    if (!this.gateway.client) return null;
    const read = await this.gateway.attempt('lock.holder', (client) => client.get(this.key));
    return read.ok ? read.value : undefined;
  }

  private heldHere(): boolean {
    const held = this.held;
    if (!held) return false;
    if (held.scope === 'memory' && held.expiresAt <= Date.now()) {
      this.drop(held);
      return false;
    }
    return true;
  }

  private hold(token: string, scope: Lease['scope']): Lease {
    const controller = new AbortController();
    const held: HeldLease = {
      token,
      scope,
      controller,
      expiresAt: Date.now() + this.leaseMs,
      renewing: false,
      timer: setInterval(() => void this.renew(held), this.renewEveryMs),
      released: false,
    };
    held.timer.unref();
    this.held = held;
    const lock = this;
    return {
      token,
      get scope() {
        return held.scope;
      },
      signal: controller.signal,
      get released() {
        return held.released;
      },
      write: (key, value, ttlMs) => lock.write(held, key, value, ttlMs),
      release: (finalWrites = []) => lock.release(held, finalWrites),
    };
  }

  private async renew(held: HeldLease): Promise<void> {
    if (held.renewing || held.released) return;
    if (held.scope === 'memory') {
      held.expiresAt = Date.now() + this.leaseMs;
      return;
    }
    held.renewing = true;
    try {
      const renewed = await this.gateway.attempt('lock.renew', (client) => RENEW.run(client, [this.key], [held.token, this.leaseMs]), { write: true });
      // Unanswered: keep trying; if Redis stays away past the lease, the next answer is 0 and the lease is lost.
      if (!renewed.ok || held.released) return;
      if (Number(renewed.value) !== 1) {
        this.logger.warn(`${this.name}: lease lost (expired or taken over); stopping`);
        this.drop(held);
        held.controller.abort(new Error(`${this.name}: lease lost`));
      }
    } finally {
      held.renewing = false;
    }
  }

  private async write(held: HeldLease, key: string, value: string, ttlMs: number): Promise<boolean> {
    if (held.released || held.scope === 'memory') return false;
    const written = await this.gateway.attempt(
      'lock.write',
      (client) => FENCED_SET.run(client, [this.key, key], [held.token, value, Math.ceil(ttlMs)]),
      { write: true },
    );
    return written.ok && Number(written.value) === 1;
  }

  private async release(held: HeldLease, finalWrites: readonly FencedWrite[]): Promise<void> {
    if (held.released) return;
    this.drop(held);
    if (held.scope === 'redis') await this.releaseInRedis(held.token, finalWrites);
  }

  private async releaseInRedis(token: string, finalWrites: readonly FencedWrite[]): Promise<void> {
    const keys = [this.key, ...finalWrites.map((write) => write.key)];
    const args = [token, ...finalWrites.flatMap((write) => [write.value, Math.ceil(write.ttlMs)])];
    // If Redis is unreachable the key simply expires at the end of the lease.
    await this.gateway.attempt('lock.release', (client) => RELEASE.run(client, keys, args), { write: true });
  }

  private drop(held: HeldLease): void {
    held.released = true;
    clearInterval(held.timer);
    if (this.held === held) this.held = null;
  }
}

function isTaken(reply: unknown): boolean {
  return Number(reply) === 1 || Number(reply) === 2;
}

interface HeldLease {
  token: string;
  scope: Lease['scope'];
  controller: AbortController;
  /** For memory leases: when the lease lapses unless renewed. */
  expiresAt: number;
  renewing: boolean;
  timer: NodeJS.Timeout;
  released: boolean;
}
