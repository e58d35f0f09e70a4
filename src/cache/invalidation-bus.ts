/**
 * Keeps the memory tiers of every worker honest: a write, delete or invalidation is published on one Redis channel
 * and every other instance drops its own copy. When the subscription was interrupted, messages may have been missed,
 * so the receiver drops its whole memory tier on reconnect rather than serve stale entries.
 */
import type { Redis } from 'ioredis';
import { isCluster, type RedisClient } from '../redis/connection.js';
import { classifyError } from '../redis/failures.js';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { quitOrDisconnect, type Attempt, type RedisGateway } from '../redis/gateway.js';
import type { Logger } from '../logger.js';

/** Keys per announcement: a burst of thousands of writes becomes a few messages of bounded size. */
const KEYS_PER_MESSAGE = 500;

export interface Invalidation {
  /** Exact keys to drop. */
  keys?: string[];
  /** Drop every key starting with one of these. */
  prefixes?: string[];
}

/** A write of keys as one command, so that it can go alone or in one socket write behind an announcement. */
export interface KeyWrite {
  command: 'set' | 'unlink';
  args: ReadonlyArray<string | number>;
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
  /** Keys written since the last announcement went out. */
  private readonly pendingKeys = new Set<string>();
  /** The announcement that will carry them. */
  private flushing: Promise<void> | null = null;
  /** How every announcement of this instance starts (publish writes `origin` first). */
  private readonly ownMessageStart: string;
  /** Settles once the first SUBSCRIBE is confirmed (true) or failed (false); memory-only mode: false at once. */
  readonly subscribed: Promise<boolean>;

  constructor(options: InvalidationBusOptions) {
    this.options = options;
    this.ownMessageStart = `{"origin":${JSON.stringify(options.instanceId)},`;
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
  publish(invalidation: Invalidation): Promise<void> {
    if (!this.options.subscriber) return Promise.resolve();
    const text = this.messageText(invalidation);
    return this.options.gateway.attempt('publish', (client) => client.publish(this.options.channel, text)).then((sent) => {
      if (sent.ok) this.published += 1;
    });
  }

  /**
   * Runs a write of keys, then announces them once Redis has taken it. The caller is answered when the write lands;
   * the announcement follows on the same connection, so it reaches Redis after the write whether the caller waits
   * for it or not (and pub/sub would not say when the others have read it anyway). Announcements coalesce: keys
   * answered in one turn of the event loop share one PUBLISH, sent at the next turn or, sooner, in the same socket
   * write as the next write, so a writer going key after key pays one round trip per key and a burst a few messages
   * in all. A write Redis refused is not announced (Redis still holds what the others have); one whose reply came
   * after the caller was answered is announced when it lands. On a Cluster nothing rides along: the next write goes
   * to its slot's node, on a connection of its own, and would share no socket write with the announcement.
   */
  writeAndPublish(operation: string, write: KeyWrite, keys: readonly string[]): Promise<Attempt<unknown>> {
    // Keys are taken for the ride only when the write is really sent (the gateway may answer without sending).
    const send = (client: RedisClient) => {
      if (isCluster(client)) return client.call(write.command, ...write.args);
      const carried = this.takePendingKeys();
      return carried === null ? client.call(write.command, ...write.args) : this.writeBehindAnnouncement(client, carried, write);
    };
    // Every write comes this way: one reaction to the gateway's answer, no async function of its own.
    return this.options.gateway.attempt(operation, send, { write: true }).then((outcome) => {
      if (outcome.ok) this.announce(keys);
      else void outcome.late?.then((landed) => landed && this.announce(keys));
      return outcome;
    });
  }

  /**
   * The announcement of earlier writes, then this write, whose reply (or error reply) is the result. Both leave in
   * one socket write, in this order: the socket is corked while ioredis writes the two commands, which costs less
   * than an ioredis pipeline of two (whose machinery cost about as much as the SET it carries, measured). When the
   * announcement does not reach Redis, the keys it carried wait for the next one again.
   */
  private writeBehindAnnouncement(client: Redis, carried: string[], write: KeyWrite): Promise<unknown> {
    const stream = client.stream as Redis['stream'] | undefined;
    stream?.cork();
    try {
      client.publish(this.options.channel, this.messageText({ keys: carried })).then(
        () => {
          this.published += 1;
        },
        (error: unknown) => {
          if (classifyError(error).outage) this.announce(carried);
          else this.options.gateway.noteErrorReply('publish', error);
        },
      );
      return client.call(write.command, ...write.args);
    } finally {
      stream?.uncork();
    }
  }

  /** Queues keys for the next announcement, sent at the next turn unless a write takes them along first. */
  private announce(keys: readonly string[]): void {
    if (!this.options.subscriber) return;
    for (const key of keys) this.pendingKeys.add(key);
    this.flushing ??= nextTurn().then(() => this.sendPending());
  }

  /** The keys waiting to be announced, when one message holds them all; taken from the queue. */
  private takePendingKeys(): string[] | null {
    const count = this.pendingKeys.size;
    if (count === 0 || count > KEYS_PER_MESSAGE) return null;
    const keys = [...this.pendingKeys];
    this.pendingKeys.clear();
    return keys;
  }

  private sendPending(): Promise<void> {
    const keys = [...this.pendingKeys];
    this.pendingKeys.clear();
    this.flushing = null;
    const messages: Promise<void>[] = [];
    for (let start = 0; start < keys.length; start += KEYS_PER_MESSAGE) {
      messages.push(this.publish({ keys: keys.slice(start, start + KEYS_PER_MESSAGE) }));
    }
    return Promise.all(messages).then(() => undefined);
  }

  private messageText(invalidation: Invalidation): string {
    const message: Message = { origin: this.options.instanceId, ...invalidation };
    return JSON.stringify(message);
  }

  stats(): { published: number; received: number } {
    return { published: this.published, received: this.received };
  }

  async close(): Promise<void> {
    // Announcements still queued go out before the connection does.
    await this.flushing;
    if (this.options.subscriber) await quitOrDisconnect(this.options.subscriber);
  }

  private receive(text: string): void {
    // Each announcement of this instance comes back to it on the channel: told apart by its first bytes, not parsed.
    if (text.startsWith(this.ownMessageStart)) return;
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
  if (typeof origin !== 'string' || !isStringList(keys) || !isStringList(prefixes)) return null;
  return { origin, keys: keys as string[] | undefined, prefixes: prefixes as string[] | undefined };
}

function isStringList(value: unknown): boolean {
  return value === undefined || (Array.isArray(value) && value.every((item) => typeof item === 'string'));
}
