/**
 * The one funnel every Redis call goes through. It owns the deadline per command, the circuit breaker, error
 * suppression and the backend state, so callers write `gateway.run(op, cmd, fallback)` and never see Redis fail:
 * a failed, timed-out or skipped command returns the caller's fallback.
 */
import { CircuitBreaker, type BreakerState, type CircuitBreakerOptions } from './circuit-breaker.js';
import { describeClient, isCluster, type RedisClient } from './connection.js';
import { redactSecrets } from './redact.js';
import type { Logger } from '../logger.js';

export type RedisMode = 'standalone' | 'cluster' | 'none';

export class RedisCommandTimeoutError extends Error {
  override name = 'RedisCommandTimeoutError';
  constructor(operation: string, timeoutMs: number) {
    super(`Redis ${operation} did not answer within ${timeoutMs} ms`);
  }
}

export interface RedisGatewayOptions {
  client: RedisClient | null;
  /** Whether reprise created the client (then close() quits it). */
  owned: boolean;
  /** Deadline for one command; the breaker counts a miss of it as a failure. */
  commandTimeoutMs: number;
  breaker?: CircuitBreakerOptions;
  logger: Logger;
  /** Secrets to strip from anything logged (the Redis password). */
  secrets?: string[];
  onError?: (operation: string, error: unknown) => void;
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
  errors: number;
  timeouts: number;
  /** Calls answered by the fallback without touching Redis (breaker open or connection down). */
  skipped: number;
}

export class RedisGateway {
  readonly client: RedisClient | null;
  readonly mode: RedisMode;
  private readonly breaker: CircuitBreaker;
  private readonly options: RedisGatewayOptions;
  private readonly detach: () => void;
  private errors = 0;
  private timeouts = 0;
  private skipped = 0;
  private lastBackend: 'redis' | 'memory' | null = null;

  constructor(options: RedisGatewayOptions) {
    this.options = options;
    this.client = options.client;
    this.mode = !options.client ? 'none' : isCluster(options.client) ? 'cluster' : 'standalone';
    this.breaker = new CircuitBreaker(options.breaker);
    this.detach = this.client ? this.watchConnection(this.client) : () => {};
  }

  /** True when a command would be sent to Redis now (connected, circuit not open). */
  get available(): boolean {
    return this.client !== null && this.client.status === 'ready' && this.breaker.state !== 'open';
  }

  /** Commands that failed or timed out so far: a call that sees this grow knows Redis just failed it. */
  get failures(): number {
    return this.errors;
  }

  get backend(): 'redis' | 'memory' {
    return this.available ? 'redis' : 'memory';
  }

  /**
   * Runs one Redis command (or pipeline) under the deadline and breaker. Never rejects: on any failure the
   * error is counted and `fallback` is returned.
   */
  async run<T, F>(operation: string, command: (client: RedisClient) => Promise<T>, fallback: F): Promise<T | F> {
    const client = this.client;
    if (client === null || client.status !== 'ready' || !this.breaker.allowRequest()) {
      this.skipped += 1;
      return fallback;
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RedisCommandTimeoutError(operation, this.options.commandTimeoutMs)),
        this.options.commandTimeoutMs,
      );
    });
    try {
      const result = await Promise.race([command(client), deadline]);
      this.breaker.recordSuccess();
      this.noteBackend();
      return result;
    } catch (error) {
      this.recordFailure(operation, error);
      return fallback;
    } finally {
      clearTimeout(timer);
    }
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
    return {
      mode: this.mode,
      connection: this.client?.status ?? 'none',
      breaker: this.breaker.state,
      backend: this.backend,
      target: this.client ? describeClient(this.client) : null,
      errors: this.errors,
      timeouts: this.timeouts,
      skipped: this.skipped,
    };
  }

  /** Quits the client if reprise created it; an injected client is left as it was. */
  async close(): Promise<void> {
    this.detach();
    const client = this.client;
    if (!client || !this.options.owned) return;
    await quitOrDisconnect(client);
  }

  /** Text safe to log: no URL credentials, no password. */
  redact(text: string): string {
    return redactSecrets(text, this.options.secrets);
  }

  private recordFailure(operation: string, error: unknown): void {
    if (error instanceof RedisCommandTimeoutError) this.timeouts += 1;
    this.errors += 1;
    this.breaker.recordFailure();
    this.options.onError?.(operation, error);
    this.noteBackend(error);
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
    const onReady = () => {
      this.breaker.reset();
      this.noteBackend();
    };
    const onDown = () => {
      this.breaker.trip();
      this.noteBackend();
    };
    // Without an error listener ioredis errors would crash the host; they are counted by the commands that fail.
    const onError = (error: unknown) => {
      this.options.logger.debug(`Redis connection error: ${this.redact(String((error as Error)?.message ?? error))}`);
    };
    client.on('ready', onReady);
    client.on('close', onDown);
    client.on('end', onDown);
    client.on('error', onError);
    return () => {
      client.off('ready', onReady);
      client.off('close', onDown);
      client.off('end', onDown);
      client.off('error', onError);
    };
  }
}

/** QUIT politely, but never wait on a dead or hung server for more than a moment. */
export async function quitOrDisconnect(client: RedisClient, timeoutMs = 500): Promise<void> {
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
