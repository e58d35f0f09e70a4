/**
 * How full each Redis node is: every `intervalMs` (30 s by default) each master is asked for INFO memory and INFO
 * stats (one pipeline per node, through the gateway), and its used_memory, maxmemory, maxmemory_policy and
 * evicted_keys are kept for stats() and exported at scrape time (a scrape never asks Redis anything).
 *
 * Reading these figures is housekeeping: a node that does not answer keeps its last figures and is asked again next
 * time, an error reply (INFO refused by an ACL, a node still loading) is counted by the gateway like any other and
 * concerns this read only, and nothing ever throws out of the timer. The first read of a node's settings, and any
 * change of its policy, is logged once: a warning when the policy will hurt reprise (see memory-policy.ts).
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { RepriseMetrics } from '../telemetry/metrics.js';
import type { RedisGateway } from './gateway.js';
import { describePolicy, judgePolicy, memoryPolicyOf, type MemoryPolicy, type PolicyVerdict } from './memory-policy.js';
import { MAX_NODES_ASKED, runOnEachMaster } from './per-node.js';

export const DEFAULT_MEMORY_INTERVAL_MS = 30_000;
/** Asking more often than this would be INFO traffic for nothing: memory moves slowly. */
export const MIN_MEMORY_INTERVAL_MS = 1_000;

export interface NodeMemory {
  /** The node's address, without credentials. */
  node: string;
  /** used_memory: what Redis counts against maxmemory (before the allocator's overhead). */
  usedBytes: number;
  /** maxmemory; 0 means no limit. */
  maxBytes: number;
  /** usedBytes / maxBytes, or null without a limit. */
  usedRatio: number | null;
  policy: MemoryPolicy;
  /** What the policy means for reprise (memory-policy.ts). */
  verdict: PolicyVerdict;
  /** Keys Redis evicted since it started (INFO stats evicted_keys). */
  evictedKeys: number;
  /** When these figures were read (ISO 8601). */
  readAt: string;
}

export interface RedisMemoryStats {
  /** How often the figures are read; 0: never. */
  intervalMs: number;
  /** The masters' latest figures, by address; a node that did not answer the latest read keeps its previous ones. */
  nodes: NodeMemory[];
  /** Reads of a node's figures that got no usable answer. */
  failedReads: number;
}

export interface RedisMemoryWatchOptions {
  gateway: RedisGateway;
  metrics: RepriseMetrics;
  logger: Logger;
  /** 0 turns the reads off. */
  intervalMs: number;
}

/** The live watches whose figures each metric reports, per metric: a node seen by two watches is reported once. */
const watchesOf = new WeakMap<object, { watches: Set<RedisMemoryWatch>; detach: () => void }>();

export class RedisMemoryWatch {
  readonly intervalMs: number;
  private readonly options: RedisMemoryWatchOptions;
  private figures = new Map<string, NodeMemory>();
  /** What was last logged per node (policy and whether bounded), so a setting is told once, and again when it changes. */
  private readonly told = new Map<string, string>();
  private failedReads = 0;
  private reading: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopWaitingForReady: (() => void) | undefined;
  private closed = false;

  constructor(options: RedisMemoryWatchOptions) {
    this.options = options;
    this.intervalMs = options.intervalMs;
    if (!options.gateway.client || this.intervalMs === 0) return;
    this.timer = setInterval(() => void this.read(), this.intervalMs);
    this.timer.unref();
    this.readWhenReady();
    this.joinMetrics();
  }

  stats(): RedisMemoryStats {
    return { intervalMs: this.intervalMs, nodes: [...this.figures.values()].map((node) => ({ ...node })), failedReads: this.failedReads };
  }

  /** Reads every master's figures now (a read already under way is shared); never rejects. */
  private read(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.reading ??= this.readNodes().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.stopWaitingForReady?.();
    this.leaveMetrics();
  }

  /** The first read as soon as Redis is connected, rather than a whole interval later. */
  private readWhenReady(): void {
    const client = this.options.gateway.client!;
    if (client.status === 'ready') {
      void this.read();
      return;
    }
    const onReady = () => void this.read();
    client.once('ready', onReady);
    this.stopWaitingForReady = () => client.off('ready', onReady);
  }

  private async readNodes(): Promise<void> {
    try {
      const answers = await runOnEachMaster(this.options.gateway, 'info', readInfo);
      if (![...answers.values()].some((answer) => answer.ok)) {
        // No node answered (Redis down, or a Sentinel switch under way): the last figures stand, under their names.
        this.failedReads += Math.max(1, answers.size);
        return;
      }
      const now = new Date().toISOString();
      const next = new Map<string, NodeMemory>();
      for (const [node, answer] of answers) {
        const read = answer.ok ? parseMemory(node, answer.value, now) : null;
        if (!read) this.failedReads += 1;
        const figures = read ?? this.figures.get(node);
        if (figures) next.set(node, figures);
        if (read) this.tell(read);
      }
      this.figures = next;
    } catch (error) {
      // runOnEachMaster never rejects; this guards the timer against anything unforeseen.
      this.failedReads += 1;
      this.options.logger.debug(`Redis memory figures not read: ${this.options.gateway.redact(String((error as Error)?.message ?? error))}`);
    }
  }

  private tell(figures: NodeMemory): void {
    const setting = `${figures.policy}:${figures.maxBytes === 0 ? 'unbounded' : 'bounded'}`;
    if (this.told.get(figures.node) === setting) return;
    if (this.told.size >= 2 * MAX_NODES_ASKED) this.told.clear();
    this.told.set(figures.node, setting);
    const { level, message } = describePolicy(figures.node, figures.policy, figures.maxBytes);
    this.options.logger[level](message);
  }

  private joinMetrics(): void {
    const { metrics } = this.options;
    let entry = watchesOf.get(metrics.redisEvictedKeys);
    if (!entry) {
      const watches = new Set<RedisMemoryWatch>();
      const latest = () => latestFigures(watches);
      const removers = [
        metrics.collectInto(metrics.redisMemoryUsed, (gauge) => {
          for (const node of latest()) gauge.set({ node: node.node }, node.usedBytes);
        }),
        metrics.collectInto(metrics.redisMemoryMax, (gauge) => {
          for (const node of latest()) gauge.set({ node: node.node }, node.maxBytes);
        }),
        metrics.collectInto(metrics.redisMemoryPolicy, (gauge) => {
          for (const node of latest()) gauge.set({ node: node.node, policy: node.policy }, 1);
        }),
        metrics.collectInto(metrics.redisEvictedKeys, (counter) => {
          for (const node of latest()) counter.inc({ node: node.node }, node.evictedKeys);
        }),
      ];
      entry = { watches, detach: () => removers.forEach((remove) => remove()) };
      watchesOf.set(metrics.redisEvictedKeys, entry);
    }
    entry.watches.add(this);
  }

  private leaveMetrics(): void {
    const { metrics } = this.options;
    const entry = watchesOf.get(metrics.redisEvictedKeys);
    if (!entry?.watches.delete(this) || entry.watches.size > 0) return;
    entry.detach();
    watchesOf.delete(metrics.redisEvictedKeys);
  }
}

/** Each node once, from the watch that read it last. */
function latestFigures(watches: Iterable<RedisMemoryWatch>): NodeMemory[] {
  const byNode = new Map<string, NodeMemory>();
  for (const watch of watches) {
    for (const node of watch.stats().nodes) {
      const known = byNode.get(node.node);
      if (!known || known.readAt < node.readAt) byNode.set(node.node, node);
    }
  }
  return [...byNode.values()];
}

/** INFO memory and INFO stats of one node, in one round trip (INFO of several sections needs Redis 7). */
async function readInfo(node: Redis): Promise<string> {
  const replies = (await node.pipeline().info('memory').info('stats').exec()) ?? [];
  const texts: string[] = [];
  for (const [error, reply] of replies) {
    if (error) throw error;
    texts.push(String(reply));
  }
  return texts.join('\n');
}

/** The figures in an INFO reply, read as data only; null when one is absent or not a whole number. */
export function parseMemory(node: string, info: string, readAt: string): NodeMemory | null {
  const field = (name: string) => new RegExp(`^${name}:([^\\r\\n]*)`, 'm').exec(info)?.[1]?.trim();
  const count = (name: string) => {
    const text = field(name);
    return text !== undefined && /^\d{1,15}$/.test(text) ? Number(text) : null;
  };
  const usedBytes = count('used_memory');
  const maxBytes = count('maxmemory');
  const evictedKeys = count('evicted_keys');
  const policyText = field('maxmemory_policy');
  if (usedBytes === null || maxBytes === null || evictedKeys === null || policyText === undefined) return null;
  const policy = memoryPolicyOf(policyText);
  return {
    node,
    usedBytes,
    maxBytes,
    usedRatio: maxBytes > 0 ? usedBytes / maxBytes : null,
    policy,
    verdict: judgePolicy(policy, maxBytes),
    evictedKeys,
    readAt,
  };
}
