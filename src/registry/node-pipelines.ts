/**
 * Runs one command per shard, the shards of one Redis node in one pipeline (src/redis/per-node.ts): a bulk
 * operation costs at most one round trip per node; a failing node only costs the shards it holds.
 */
import type { RedisClient } from '../redis/connection.js';
import { runPerNode as runOnNodes } from '../redis/per-node.js';
import type { RedisGateway } from '../redis/gateway.js';
import type { Shard } from './layout.js';
import { READ_SCRIPT, STATS_SCRIPT, SWEEP_SCRIPT, UNLINK_SCRIPT, WRITE_SCRIPT } from './scripts.js';

type Arg = string | Buffer | number;

/** The pipeline commands the registry uses, including its scripts (defined on the client once). */
export interface RegistryPipeline {
  repriseIdRegistryReadBuffer(...args: Arg[]): unknown;
  repriseIdRegistryWriteBuffer(...args: Arg[]): unknown;
  repriseIdRegistryUnlink(...args: Arg[]): unknown;
  repriseIdRegistrySweep(...args: Arg[]): unknown;
  repriseIdRegistryStats(...args: Arg[]): unknown;
  exec(): Promise<[Error | null, unknown][] | null>;
}

export interface ShardCommand {
  shard: Shard;
  add(pipeline: RegistryPipeline): void;
}

const SCRIPTS = {
  repriseIdRegistryRead: READ_SCRIPT,
  repriseIdRegistryWrite: WRITE_SCRIPT,
  repriseIdRegistryUnlink: UNLINK_SCRIPT,
  repriseIdRegistrySweep: SWEEP_SCRIPT,
  repriseIdRegistryStats: STATS_SCRIPT,
} as const;

const prepared = new WeakSet<RedisClient>();

/**
 * Defines the scripts on the client (ioredis sends EVALSHA, and the body once per connection). The names are
 * reprise's own, so defining them on a client the host shares with us cannot clash with its commands.
 */
function prepare(client: RedisClient): void {
  if (prepared.has(client)) return;
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    if (typeof (client as unknown as Record<string, unknown>)[name] !== 'function') {
      client.defineCommand(name, { lua, numberOfKeys: 1 });
    }
  }
  prepared.add(client);
}

export interface NodeRunReport {
  /** Reply per shard; shards whose node failed (or was skipped) are absent. */
  replies: Map<Shard, unknown>;
  /** Pipelines sent (one per node reached). */
  roundTrips: number;
  /** The replies of shards whose pipeline was given up but still reached Redis (see per-node.ts), or null. */
  late: Promise<Map<Shard, unknown>> | null;
}

/** The registry's scripts and reads, one command per shard, one pipeline per node. */
export async function runPerNode(gateway: RedisGateway, operation: string, commands: ShardCommand[], options: { write?: boolean } = {}): Promise<NodeRunReport> {
  if (gateway.client) prepare(gateway.client);
  const bySlot = commands.map((command) => ({ slot: command.shard.slot, add: (pipeline: RegistryPipeline) => command.add(pipeline), command }));
  const report = await runOnNodes<RegistryPipeline, (typeof bySlot)[number]>(gateway, operation, bySlot, options);
  const byShard = (replies: Map<(typeof bySlot)[number], unknown>) => new Map([...replies].map(([entry, reply]) => [entry.command.shard, reply]));
  return { replies: byShard(report.replies), roundTrips: report.roundTrips, late: report.late?.then(byShard) ?? null };
}
