/**
 * Runs one command per shard, with every shard on the same Redis node in one pipeline: a bulk operation costs at
 * most one round trip per node and never mixes nodes in a pipeline (no CROSSSLOT: each command stays in its
 * shard's slot). Each node's pipeline goes through the gateway on its own, so a failing node only costs the shards
 * it holds; their results are simply absent and the caller answers them from memory.
 */
import { isCluster, type RedisClient } from '../redis/connection.js';
import type { RedisGateway } from '../redis/gateway.js';
import type { Shard } from './layout.js';
import { READ_SCRIPT, SWEEP_SCRIPT, UNLINK_SCRIPT, WRITE_SCRIPT } from './scripts.js';

type Arg = string | Buffer | number;

/** The pipeline commands the registry uses, including its scripts (defined on the client once). */
export interface RegistryPipeline {
  repriseIdRegistryReadBuffer(...args: Arg[]): unknown;
  repriseIdRegistryWriteBuffer(...args: Arg[]): unknown;
  repriseIdRegistryUnlink(...args: Arg[]): unknown;
  repriseIdRegistrySweep(...args: Arg[]): unknown;
  hmget(key: string, ...fields: string[]): unknown;
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

/** Which node serves a shard now, by the client's slot map; shards of one node share a pipeline. */
function nodeOf(client: RedisClient, shard: Shard): string {
  if (!isCluster(client)) return 'standalone';
  return client.slots[shard.slot]?.[0] ?? 'unassigned';
}

export interface NodeRunReport {
  /** Reply per shard; shards whose node failed (or was skipped) are absent. */
  replies: Map<Shard, unknown>;
  /** Pipelines sent (one per node reached). */
  roundTrips: number;
}

export async function runPerNode(gateway: RedisGateway, operation: string, commands: ShardCommand[]): Promise<NodeRunReport> {
  const client = gateway.client;
  const replies = new Map<Shard, unknown>();
  if (!client || commands.length === 0) return { replies, roundTrips: 0 };
  prepare(client);

  const byNode = new Map<string, ShardCommand[]>();
  for (const command of commands) {
    const node = nodeOf(client, command.shard);
    const group = byNode.get(node);
    if (group) group.push(command);
    else byNode.set(node, [command]);
  }

  let roundTrips = 0;
  await Promise.all(
    [...byNode.values()].map(async (group) => {
      const results = await gateway.run(
        operation,
        async (connection) => {
          const pipeline = connection.pipeline() as unknown as RegistryPipeline;
          for (const command of group) command.add(pipeline);
          roundTrips += 1;
          const settled = await pipeline.exec();
          if (!settled) throw new Error(`${operation}: pipeline discarded`);
          // One failed command (MOVED after a slot change, a node going down) fails the node: answer from memory.
          return settled.map(([error, reply]) => {
            if (error) throw error;
            return reply;
          });
        },
        null,
      );
      if (results) group.forEach((command, index) => replies.set(command.shard, results[index]));
    }),
  );
  return { replies, roundTrips };
}
