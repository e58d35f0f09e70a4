/**
 * One pipeline per Redis node: commands are grouped by the node that serves their slot (the client's slot map on a
 * Cluster, the one server otherwise), so a bulk operation costs at most one round trip per node and no pipeline
 * mixes nodes. Each command must keep to one slot (no CROSSSLOT). Each node's pipeline goes through the gateway on
 * its own, so a failing node only costs its own commands: their replies are absent and the caller answers them
 * from memory.
 */
import type { ChainableCommander } from 'ioredis';
import { isCluster, type RedisClient } from './connection.js';
import type { RedisGateway } from './gateway.js';

export interface SlotCommand<P = ChainableCommander> {
  /** The hash slot of every key the command touches. */
  slot: number;
  add(pipeline: P): void;
}

export interface PerNodeReport<C> {
  /** Reply per command; commands whose node failed (or was skipped) are absent. */
  replies: Map<C, unknown>;
  /** Pipelines sent (one per node reached). */
  roundTrips: number;
}

/** Which node serves a slot now; commands of one node share a pipeline. */
function nodeOf(client: RedisClient, slot: number): string {
  if (!isCluster(client)) return 'standalone';
  return client.slots[slot]?.[0] ?? 'unassigned';
}

export async function runPerNode<P, C extends SlotCommand<P>>(gateway: RedisGateway, operation: string, commands: readonly C[]): Promise<PerNodeReport<C>> {
  const client = gateway.client;
  const replies = new Map<C, unknown>();
  if (!client || commands.length === 0) return { replies, roundTrips: 0 };

  const byNode = new Map<string, C[]>();
  for (const command of commands) {
    const node = nodeOf(client, command.slot);
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
          const pipeline = connection.pipeline() as unknown as P & { exec(): Promise<[Error | null, unknown][] | null> };
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
      if (results) group.forEach((command, index) => replies.set(command, results[index]));
    }),
  );
  return { replies, roundTrips };
}
