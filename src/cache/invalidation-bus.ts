/**
 * Keeps the memory tiers of every worker honest: a write, delete or invalidation is published on one Redis channel
 * and every other instance drops its own copy. When the subscription was interrupted, messages may have been missed,
 * so the receiver drops its whole memory tier on reconnect rather than serve stale entries.
 */
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../redis/connection.js';
import type { RedisGateway } from '../redis/gateway.js';
import { quitOrDisconnect } from '../redis/gateway.js';
import type { Logger } from '../logger.js';

export interface Invalidation {
  /** Exact keys to drop. */
  keys?: string[];
  /** Drop every key starting with one of these. */
  prefixes?: string[];
}

interface Message extends Invalidation {
  origin: string;
}

export interface InvalidationBusOptions {
  gateway: RedisGateway;
  /** A dedicated connection for SUBSCRIBE (reprise owns and closes it). */
  subscriber: RedisClient | null;
  channel: string;
  /** Only keys under this prefix are ever dropped on another instance's word. */
  keyPrefix: string;
  instanceId: string;
  logger: Logger;
  onInvalidation: (invalidation: Invalidation) => void;
  /** Called each time the subscription is (re)established: entries held from before may be stale. */
  onResync: () => void;
}

export class InvalidationBus {
  private readonly options: InvalidationBusOptions;
  private connectedBefore = false;
  /** Whether the last SUBSCRIBE was confirmed. */
  private listening = false;
  /** The SUBSCRIBE under way, if any: one at a time. */
  private subscribing: Promise<boolean> | null = null;
  private received = 0;
  private published = 0;
  /** Settles once the first SUBSCRIBE is confirmed (true) or failed (false); memory-only mode: false at once. */
  readonly subscribed: Promise<boolean>;

  constructor(options: InvalidationBusOptions) {
    this.options = options;
    const subscriber = options.subscriber;
    if (!subscriber) {
      this.subscribed = Promise.resolve(false);
      return;
    }
    subscriber.on('error', (error: Error) => options.logger.debug(`invalidation subscriber: ${options.gateway.redact(error.message)}`));
    subscriber.on('message', (channel: string, text: string) => {
      if (channel === options.channel) this.receive(text);
    });
    subscriber.on('ready', () => {
      // A later 'ready' means a gap in which messages may have been lost; and a first SUBSCRIBE that failed (Redis
      // was down at start) must be sent again. Either way: listen, then resync.
      const gap = this.connectedBefore;
      this.connectedBefore = true;
      if (gap || (!this.listening && !this.subscribing)) void this.subscribe();
    });
    this.subscribed = this.subscribe();
  }

  /**
   * SUBSCRIBE, then drop the memory tier: whatever was read before this instance was listening may have been
   * overwritten by another instance meanwhile.
   */
  private subscribe(): Promise<boolean> {
    this.subscribing ??= (async () => {
      try {
        await this.options.subscriber!.subscribe(this.options.channel);
        this.listening = true;
        this.options.onResync();
        return true;
      } catch (error) {
        this.listening = false;
        this.options.logger.warn(`could not subscribe to invalidations: ${this.options.gateway.redact((error as Error).message)}`);
        return false;
      } finally {
        this.subscribing = null;
      }
    })();
    return this.subscribing;
  }

  /** Tells the other instances; a failure is counted by the gateway and never reaches the caller. */
  async publish(invalidation: Invalidation): Promise<void> {
    if (!this.options.subscriber) return;
    const message: Message = { origin: this.options.instanceId, ...invalidation };
    const text = JSON.stringify(message);
    const sent = await this.options.gateway.run('publish', (client) => client.publish(this.options.channel, text), null);
    if (sent !== null) this.published += 1;
  }

  /**
   * Runs a write and announces it in one round trip: the write's commands and the PUBLISH share a pipeline.
   * Returns the reply of the write's first command, or null when Redis did not take the write (nothing announced).
   */
  async writeAndPublish(operation: string, write: (pipeline: ChainableCommander) => void, invalidation: Invalidation): Promise<unknown> {
    const message: Message = { origin: this.options.instanceId, ...invalidation };
    const replies = await this.options.gateway.run(operation, async (client) => {
      const pipeline = client.pipeline();
      write(pipeline);
      if (this.options.subscriber) pipeline.publish(this.options.channel, JSON.stringify(message));
      const results = (await pipeline.exec()) ?? [];
      for (const [error] of results) if (error) throw error;
      return results;
    }, null);
    if (replies === null) return null;
    if (this.options.subscriber) this.published += 1;
    return replies[0]?.[1] ?? null;
  }

  stats(): { published: number; received: number } {
    return { published: this.published, received: this.received };
  }

  async close(): Promise<void> {
    if (this.options.subscriber) await quitOrDisconnect(this.options.subscriber);
  }

  private receive(text: string): void {
    const message = parseMessage(text);
    if (!message || message.origin === this.options.instanceId) return;
    const ours = (key: string) => key.startsWith(this.options.keyPrefix);
    const keys = message.keys?.filter(ours);
    const prefixes = message.prefixes?.filter(ours);
    this.received += 1;
    this.options.onInvalidation({ ...(keys?.length ? { keys } : {}), ...(prefixes?.length ? { prefixes } : {}) });
  }
}

/** Accepts only the exact shape reprise publishes; anything else on the channel is ignored. */
function parseMessage(text: string): Message | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null) return null;
  const { origin, keys, prefixes } = data as Record<string, unknown>;
  const stringList = (value: unknown) => value === undefined || (Array.isArray(value) && value.every((item) => typeof item === 'string'));
  if (typeof origin !== 'string' || !stringList(keys) || !stringList(prefixes)) return null;
  return { origin, keys: keys as string[] | undefined, prefixes: prefixes as string[] | undefined };
}
