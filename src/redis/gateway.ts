/**
 * The one funnel every Redis call goes through. It owns failure detection, the circuit breaker, error counting and
 * the backend state, so callers write `gateway.attempt(op, cmd)` and never see Redis fail: every call resolves to
 * Redis's reply or to why there is none (unanswered, with its reason), and the caller answers the latter its own way.
 *
 * What counts as Redis failed (SPEC): the connection is closed or reconnecting, or Redis stopped making progress
 * (src/redis/progress-watch.ts): no reply settled and no byte arrived on any of its connections. A busy Redis is
 * waited for, up to `maxWaitMs` per call; an error reply (WRONGTYPE, OOM, a script error) concerns its call only.
 * Only an outage opens the circuit. A Sentinel-managed connection that closes to follow a failover is switching, not
 * down, unless its reconnection fails too.
 */
import { CircuitBreaker, type BreakerState, type CircuitBreakerOptions } from './circuit-breaker.js';
import { describeClient, isCluster, isSentinelManaged, noteClosing, type RedisClient } from './connection.js';
import { classifyError, emptyReasonCounts, type CountedReason, type FailureReason } from './failures.js';
import { masterConnections } from './keyspace.js';
import { ProgressWatch, type Release } from './progress-watch.js';
import { redactSecrets } from './redact.js';
import { tlsProblem } from './tls.js';
import type { Logger } from '../logger.js';

export type RedisMode = 'standalone' | 'sentinel' | 'cluster' | 'none';

/** A call's outcome: Redis's reply, or why there is none. */
export type Attempt<T> = { ok: true; value: T } | Unanswered<T>;

export interface Unanswered<T> {
  ok: false;
  reason: FailureReason;
  /**
   * For a call given up while its command was still on its way (`stalled`, `wait_limit`): what Redis did with it in
   * the end, the reply, or null when it failed. Lets a caller settle what it could not know in time (a lock taken,
   * a write that landed).
   */
  late?: Promise<{ value: T } | null>;
}

export interface RedisGatewayOptions {
  client: RedisClient | null;
  /** Whether reprise created the client (then close() quits it). */
  owned: boolean;
  /** Free silence (no reply of any kind while calls wait) that means Redis stopped: then it counts as down. */
  commandTimeoutMs: number;
  /** Longest one call waits while Redis answers others (busy, not down); then the call takes its fallback. */
  maxWaitMs?: number;
  breaker?: CircuitBreakerOptions;
  logger: Logger;
  /** Secrets to strip from anything logged (the Redis password). */
  secrets?: string[];
  /** Called for each failed call, with its reason (metrics). */
  onError?: (operation: string, reason: CountedReason) => void;
  /** The clock of the once-a-minute log lines (tests). */
  now?: () => number;
}

export interface RedisGatewayStatus {
  mode: RedisMode;
  /** ioredis connection status ('ready', 'connecting', 'reconnecting', 'end', ...), or 'none'. */
  connection: string;
  breaker: BreakerState;
  /** Where requests go right now. */
  backend: 'redis' | 'memory';
  /** Where the client points, without credentials. */
  target: string | null;
  /** Calls that failed in Redis, whatever the reason (the sum of errorsByReason). */
  errors: number;
  /** Calls given up because Redis stopped making progress. */
  timeouts: number;
  /** Failed calls by reason: outages (connection, stalled), busy (wait_limit), and error replies. */
  errorsByReason: Record<CountedReason, number>;
  /** Writes Redis refused because it is full (OOM under `maxmemory` with `noeviction`). */
  refusedWrites: number;
  /** Times the circuit opened. */
  circuitOpenings: number;
  /** Calls answered by the fallback without touching Redis (breaker open or connection down). */
  skipped: number;
  /** Times this process's own event loop was late while calls waited: never counted against Redis. */
  eventLoopDelays: number;
  /** The longest of those delays, in ms. */
  maxEventLoopDelayMs: number;
}

/** A reason is logged at most this often; the counters have every occurrence. */
const LOG_EVERY_MS = 60_000;
export const DEFAULT_MAX_WAIT_MS = 1_000;

export interface AttemptOptions {
  /** A write: an OOM reply then counts as a refused write. */
  write?: boolean;
}

const NO_REDIS: Unanswered<never> = Object.freeze({ ok: false, reason: 'no_redis' });
const UNAVAILABLE: Unanswered<never> = Object.freeze({ ok: false, reason: 'unavailable' });

export class RedisGateway {
  readonly client: RedisClient | null;
  readonly mode: RedisMode;
  readonly maxWaitMs: number;
  private readonly breaker: CircuitBreaker;
  private readonly watch: ProgressWatch;
  private readonly options: RedisGatewayOptions;
  private readonly now: () => number;
  private readonly detach: () => void;
  private readonly errorsByReason = emptyReasonCounts();
  /** When each kind of problem was last logged: a failure reason, or `tls`. */
  private readonly lastLogged = new Map<CountedReason | 'tls', number>();
  private refusedWrites = 0;
  private skipped = 0;
  /** True while the circuit is open because Redis stopped answering (a reply closes it at once). */
  private openForStall = false;
  private lastBackend: 'redis' | 'memory' | null = null;

  constructor(options: RedisGatewayOptions) {
    this.options = options;
    this.client = options.client;
    this.mode = modeOf(options.client);
    this.maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    this.now = options.now ?? Date.now;
    this.breaker = new CircuitBreaker(options.breaker);
    this.watch = new ProgressWatch({
      silenceMs: options.commandTimeoutMs,
      maxWaitMs: this.maxWaitMs,
      onStall: (released) => this.stalled(released),
      bytesReceived: () => (this.client ? bytesReceived(this.client) : 0),
    });
    this.detach = this.client ? this.watchConnection(this.client) : () => {};
  }

  /** True when a command would be sent to Redis now (connected, circuit not open). */
  get available(): boolean {
    return this.client !== null && isOpen(this.client) && this.breaker.state !== 'open';
  }

  get backend(): 'redis' | 'memory' {
    return this.available ? 'redis' : 'memory';
  }

  /**
   * Runs one Redis command (or pipeline). Never rejects: resolves to the reply, or to why there is none. A command
   * is waited for while Redis makes progress (at most `maxWaitMs`), and given up at once when Redis stops.
   */
  attempt<T>(operation: string, command: (client: RedisClient) => Promise<T>, options: AttemptOptions = {}): Promise<Attempt<T>> {
    return this.attemptThen(operation, command, options, sameOutcome);
  }

  /**
   * `attempt`, with `answer` applied to the outcome in the gateway's own reaction to it: a caller on the hot path
   * (every Redis read) takes its next step without a promise and a turn of the event loop of its own. The returned
   * promise rejects only when `answer` throws.
   */
  attemptThen<T, R>(operation: string, command: (client: RedisClient) => Promise<T>, { write = false }: AttemptOptions, answer: (outcome: Attempt<T>) => R): Promise<R> {
    const client = this.client;
    if (client === null) return answeredNow(answer, NO_REDIS);
    if (!isOpen(client) || !this.breaker.allowRequest()) {
      this.skipped += 1;
      return answeredNow(answer, UNAVAILABLE);
    }
    let sent: Promise<T>;
    try {
      sent = command(client);
    } catch (error) {
      return answeredNow(answer, this.failed<T>(operation, error, write));
    }
    return new Promise<R>((resolve, reject) => {
      let settled = false;
      const settle = (outcome: Attempt<T>) => {
        try {
          resolve(answer(outcome));
        } catch (error) {
          reject(error);
        }
      };
      const waiting = this.watch.begin((why: Release) => {
        settled = true;
        settle(this.givenUp(operation, why, sent));
      });
      sent.then(
        (value) => {
          this.progressed();
          if (settled) return;
          settled = true;
          this.watch.end(waiting);
          this.breaker.recordSuccess();
          // A reply moves the backend to Redis at most: nothing to note while it is there already.
          if (this.lastBackend !== 'redis') this.noteBackend();
          settle({ ok: true, value });
        },
        (error: unknown) => {
          const outcome = this.failed<T>(operation, error, write, settled);
          if (settled) return;
          settled = true;
          this.watch.end(waiting);
          settle(outcome);
        },
      );
    });
  }

  /**
   * An error reply found inside a reply that arrived (one command of a pipeline): counted and logged like a failed
   * call, without failing the rest of it.
   */
  noteErrorReply(operation: string, error: unknown, { write = false } = {}): CountedReason {
    const { reason } = classifyError(error);
    this.count(operation, reason, write, error);
    return reason;
  }

  /** Resolves true once connected, false after `timeoutMs` (the engine works in memory meanwhile). */
  async waitUntilReady(timeoutMs: number): Promise<boolean> {
    const client = this.client;
    if (!client) return false;
    if (client.status === 'ready') return true;
    return new Promise((resolve) => {
      const onReady = () => finish(true);
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (ready: boolean) => {
        clearTimeout(timer);
        client.off('ready', onReady);
        resolve(ready);
      };
      client.once('ready', onReady);
    });
  }

  status(): RedisGatewayStatus {
    const errorsByReason = { ...this.errorsByReason };
    return {
      mode: this.mode,
      connection: this.client?.status ?? 'none',
      breaker: this.breaker.state,
      backend: this.backend,
      target: this.client ? describeClient(this.client) : null,
      errors: Object.values(errorsByReason).reduce((sum, n) => sum + n, 0),
      timeouts: errorsByReason.stalled,
      errorsByReason,
      refusedWrites: this.refusedWrites,
      circuitOpenings: this.breaker.openings,
      skipped: this.skipped,
      eventLoopDelays: this.watch.lateTicks,
      maxEventLoopDelayMs: Math.round(this.watch.maxLagMs),
    };
  }

  /** Quits the client if reprise created it; an injected client is left as it was. */
  async close(): Promise<void> {
    this.detach();
    this.watch.close();
    const client = this.client;
    if (!client || !this.options.owned) return;
    await quitOrDisconnect(client);
  }

  /** Text safe to log: no URL credentials, no password. */
  redact(text: string): string {
    return redactSecrets(text, this.options.secrets);
  }

  /** A reply of any kind: Redis is making progress; if the circuit opened because it had stopped, it closes. */
  private progressed(): void {
    this.watch.progress();
    if (this.openForStall && this.client?.status === 'ready') {
      this.openForStall = false;
      this.breaker.reset();
      this.noteBackend();
    }
  }

  private failed<T>(operation: string, error: unknown, write: boolean, alreadyGivenUp = false): Unanswered<T> {
    const { reason, outage } = classifyError(error);
    if (outage) {
      // A connection failure of a call given up already was counted when it was given up.
      if (alreadyGivenUp) return { ok: false, reason };
      this.breaker.recordFailure();
    } else {
      // An error reply is an answer: Redis is alive, whatever it thought of this call.
      this.progressed();
      if (alreadyGivenUp) return { ok: false, reason };
      this.breaker.recordSuccess();
    }
    this.count(operation, reason, write, error);
    this.noteBackend(outage ? error : undefined);
    return { ok: false, reason };
  }

  private givenUp<T>(operation: string, why: Release, sent: Promise<T>): Unanswered<T> {
    this.count(operation, why, false, undefined);
    const late = sent.then((value) => ({ value }), () => null);
    return { ok: false, reason: why, late };
  }

  private stalled(released: number): void {
    if (released === 0) return;
    this.openForStall = true;
    this.breaker.trip();
    this.noteBackend(new Error(`no reply for ${this.options.commandTimeoutMs} ms while ${released} call(s) waited`));
  }

  private count(operation: string, reason: CountedReason, write: boolean, error: unknown): void {
    this.errorsByReason[reason] += 1;
    if (reason === 'oom' && write) this.refusedWrites += 1;
    this.options.onError?.(operation, reason);
    if (!this.dueForLog(reason)) return;
    const detail = error instanceof Error ? `: ${this.redact(error.message)}` : '';
    this.options.logger.warn(
      `Redis ${operation} failed (${reason})${detail}; answered without Redis. Further ${reason} failures are counted, logged at most once a minute`,
    );
  }

  /** Whether a problem of this kind may be logged now: each is logged at most once a minute. */
  private dueForLog(kind: CountedReason | 'tls'): boolean {
    const now = this.now();
    const last = this.lastLogged.get(kind);
    if (last !== undefined && now - last < LOG_EVERY_MS) return false;
    this.lastLogged.set(kind, now);
    return true;
  }

  /** Logs each switch between Redis and memory once, not every failing call. */
  private noteBackend(cause?: unknown): void {
    const backend = this.backend;
    if (backend === this.lastBackend) return;
    const previous = this.lastBackend;
    this.lastBackend = backend;
    if (backend === 'memory' && this.client) {
      const reason = cause instanceof Error ? `: ${this.redact(cause.message)}` : '';
      this.options.logger.warn(`Redis unavailable (${this.client.status}, circuit ${this.breaker.state})${reason}; serving from memory`);
    } else if (backend === 'redis' && previous === 'memory') {
      this.options.logger.warn(`Redis available again at ${describeClient(this.client!)}; serving from Redis`);
    }
  }

  private watchConnection(client: RedisClient): () => void {
    const followsFailovers = isSentinelManaged(client);
    let ready = false;
    /** Sentinel: the connection closed while ready and is reconnecting; an outage only if that fails. */
    let switching = false;
    let lastTarget: string | null = null;
    const onReady = () => {
      ready = true;
      switching = false;
      this.openForStall = false;
      this.breaker.reset();
      this.noteBackend();
      const target = describeClient(client);
      if (followsFailovers && lastTarget !== null && target !== lastTarget) this.options.logger.info(`Redis master switched: ${target}`);
      lastTarget = target;
    };
    const onDown = (cause?: unknown) => {
      switching = false;
      this.breaker.trip();
      this.noteBackend(cause);
      // Calls waiting on the closed connection are answered now, not after a silence: a killed Redis is down at once.
      this.watch.releaseAll('connection');
    };
    const onClose = () => {
      const wasReady = ready;
      ready = false;
      if (!followsFailovers || !wasReady) return onDown();
      // The connection to a Sentinel-managed master closed (it follows a failover, or the master died): calls waiting
      // on it are answered now; the next connection asks the sentinels where the master is. Until that fails too,
      // this is a switch: calls meanwhile are answered from memory without counting the circuit open.
      switching = true;
      this.watch.releaseAll('connection');
    };
    // Without an error listener ioredis errors would crash the host; they are counted by the commands that fail.
    const onError = (error: unknown) => {
      // While switching, an error means the reconnection failed: the master is gone, not moving.
      if (switching) onDown(error);
      const problem = tlsProblem(error);
      if (problem && this.dueForLog('tls')) this.options.logger.warn(`${problem}; serving from memory until it connects`);
      else this.options.logger.debug(`Redis connection error: ${this.redact(String((error as Error)?.message ?? error))}`);
    };
    const onEnd = () => onDown();
    client.on('ready', onReady);
    client.on('close', onClose);
    client.on('end', onEnd);
    client.on('error', onError);
    return () => {
      client.off('ready', onReady);
      client.off('close', onClose);
      client.off('end', onEnd);
      client.off('error', onError);
    };
  }
}

/** Bytes read so far on the client's current sockets (every master of a Cluster): what Redis has sent, replies or not. */
function bytesReceived(client: RedisClient): number {
  let total = 0;
  for (const connection of masterConnections(client)) total += (connection as { stream?: { bytesRead?: number } }).stream?.bytesRead ?? 0;
  return total;
}

/**
 * Whether a command can be sent now. A connection being closed (to follow a failover, say) is still `ready` until
 * its socket has closed, but no longer writable: a command sent then would fail for a reason that is not Redis's.
 */
function isOpen(client: RedisClient): boolean {
  if (client.status !== 'ready') return false;
  return isCluster(client) || client.stream?.writable !== false;
}

function sameOutcome<T>(outcome: Attempt<T>): Attempt<T> {
  return outcome;
}

/** An outcome known without waiting, answered as a settled promise. */
function answeredNow<T, R>(answer: (outcome: Attempt<T>) => R, outcome: Attempt<T>): Promise<R> {
  try {
    return Promise.resolve(answer(outcome));
  } catch (error) {
    return Promise.reject(error);
  }
}

function modeOf(client: RedisClient | null): RedisMode {
  if (!client) return 'none';
  if (isCluster(client)) return 'cluster';
  return isSentinelManaged(client) ? 'sentinel' : 'standalone';
}

/** QUIT politely, but never wait on a dead or hung server for more than a moment. */
export async function quitOrDisconnect(client: RedisClient, timeoutMs = 500): Promise<void> {
  noteClosing(client);
  // Keep an error listener until the very end: a late socket error must not crash the host.
  const swallow = () => {};
  client.on('error', swallow);
  if (client.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([client.quit().catch(() => undefined), gaveUp]);
    clearTimeout(timer);
  }
  client.disconnect();
}
