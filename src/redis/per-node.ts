/**
 * One pipeline per Redis node: commands are grouped by the node that serves their slot (the client's slot map on a
 * Cluster, the one server otherwise), so a bulk operation costs at most one round trip per node and no pipeline
 * mixes nodes. Each command must keep to one slot (no CROSSSLOT). Each node's pipeline goes through the gateway on
 * its own, so a failing node only costs its own commands, and an error reply only its own command: their replies
 * are absent and the caller answers them from memory.
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
  /** Reply per command; commands whose node failed (or was skipped), and commands Redis refused, are absent. */
  replies: Map<C, unknown>;
  /** Pipelines sent (one per node reached). */
  roundTrips: number;
  /**
   * Set when a node's pipeline was given up while Redis was still working on it (it stalled, or the call waited its
   * longest): the replies that arrived in the end, so a caller can settle what did land. Null otherwise.
   */
  late: Promise<Map<C, unknown>> | null;
}

/** Which node serves a slot now; commands of one node share a pipeline. */
function nodeOf(client: RedisClient, slot: number): string {
  if (!isCluster(client)) return 'standalone';
  return client.slots[slot]?.[0] ?? 'unassigned';
}

type Settled = [Error | null, unknown][];

export async function runPerNode<P, C extends SlotCommand<P>>(
  gateway: RedisGateway,
  operation: string,
  commands: readonly C[],
  { write = false } = {},
): Promise<PerNodeReport<C>> {
  const client = gateway.client;
  const replies = new Map<C, unknown>();
  if (!client || commands.length === 0) return { replies, roundTrips: 0, late: null };

  const byNode = new Map<string, C[]>();
  for (const command of commands) {
    const node = nodeOf(client, command.slot);
    const group = byNode.get(node);
    if (group) group.push(command);
    else byNode.set(node, [command]);
  }

  // One command's error reply (WRONGTYPE on a damaged key, OOM, MOVED after a slot change) costs that command only.
  const accept = (group: C[], settled: Settled, into: Map<C, unknown>) => {
    settled.forEach(([error, reply], index) => {
      if (error) gateway.noteErrorReply(operation, error, { write });
      else into.set(group[index]!, reply);
    });
  };

  let roundTrips = 0;
  const lateReplies: Array<Promise<void>> = [];
  const lateMap = new Map<C, unknown>();
  await Promise.all(
    [...byNode.values()].map(async (group) => {
      const outcome = await gateway.attempt(
        operation,
        async (connection) => {
          const pipeline = connection.pipeline() as unknown as P & { exec(): Promise<Settled | null> };
          for (const command of group) command.add(pipeline);
          roundTrips += 1;
          const settled = await pipeline.exec();
          if (!settled) throw new Error(`${operation}: pipeline discarded`);
          return settled;
        },
        { write },
      );
      if (outcome.ok) accept(group, outcome.value, replies);
      else if (outcome.late) lateReplies.push(outcome.late.then((late) => void (late && accept(group, late.value, lateMap))));
    }),
  );
  const late = lateReplies.length > 0 ? Promise.all(lateReplies).then(() => lateMap) : null;
  return { replies, roundTrips, late };
}
