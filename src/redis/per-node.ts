/**
 * One pipeline per Redis node: commands are grouped by the node that serves their slot (the client's slot map on a
 * Cluster, the one server otherwise), so a bulk operation costs at most one round trip per node and no pipeline
 * mixes nodes. Each command must keep to one slot (no CROSSSLOT). Each node's pipeline goes through the gateway on
 * its own, so a failing node only costs its own commands, and an error reply only its own command: their replies
 * are absent and the caller answers them from memory.
 *
 * Commands may run Lua scripts (LuaScript.addTo, named in `scripts`): a node is sent SCRIPT LOAD, at the head of its
 * pipeline, of the scripts it is not known to hold, and a command answered NOSCRIPT is sent once more after loading
 * (see lua-script.ts).
 *
 * Commands about a node rather than a key (INFO) have no slot: runOnEachMaster sends them to every master, each on
 * its own connection, through the gateway too.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import { groupBy } from '../collections.js';
import { isCluster, type RedisClient } from './connection.js';
import type { Attempt, RedisGateway } from './gateway.js';
import { masterConnections } from './keyspace.js';
import { forgetScriptsHeld, isNoScript, noteScriptsHeld, scriptsToLoad, type LuaScript } from './lua-script.js';

export interface SlotCommand<P = ChainableCommander> {
  /** The hash slot of every key the command touches. */
  slot: number;
  /** The Lua scripts `add` queues with LuaScript.addTo: the node is made to hold them. */
  scripts?: readonly LuaScript[];
  add(pipeline: P): void;
}

export interface PerNodeReport<C> {
  /** Reply per command; commands whose node failed (or was skipped), and commands Redis refused, are absent. */
  replies: Map<C, unknown>;
  /** Pipelines sent (one per node reached, one more for a node that had lost its scripts). */
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

function scriptsOf(commands: readonly Pick<SlotCommand, 'scripts'>[]): LuaScript[] {
  return commands.flatMap((command) => command.scripts ?? []);
}

export async function runPerNode<P, C extends SlotCommand<P>>(
  gateway: RedisGateway,
  operation: string,
  commands: readonly C[],
  { write = false } = {},
): Promise<PerNodeReport<C>> {
  const client = gateway.client;
  const replies = new Map<C, unknown>();
  if (!client || commands.length === 0) return { replies, roundTrips: 0, late: null };

  let roundTrips = 0;
  /** One pipeline to `node`: SCRIPT LOAD of `load` first, then the commands; answers their replies. */
  const send = (node: string, group: readonly C[], load: readonly LuaScript[]): Promise<Attempt<Settled>> =>
    gateway.attempt(
      operation,
      async (connection) => {
        const pipeline = connection.pipeline();
        for (const script of load) script.loadInto(pipeline);
        for (const command of group) command.add(pipeline as unknown as P);
        roundTrips += 1;
        const settled = await pipeline.exec();
        if (!settled) throw new Error(`${operation}: pipeline discarded`);
        const loaded = settled.slice(0, load.length);
        if (loaded.every(([error]) => !error)) noteScriptsHeld(client, node, load);
        return settled.slice(load.length);
      },
      { write },
    );

  /**
   * Files each reply of `group`. One command's error reply (WRONGTYPE on a damaged key, OOM, MOVED after a slot
   * change) costs that command only; NOSCRIPT ones are handed to `noScript` when given (to be sent again).
   */
  const accept = (group: readonly C[], settled: Settled, into: Map<C, unknown>, noScript?: C[]) => {
    settled.forEach(([error, reply], index) => {
      const command = group[index]!;
      if (!error) into.set(command, reply);
      else if (noScript && isNoScript(error)) noScript.push(command);
      else gateway.noteErrorReply(operation, error, { write });
    });
  };

  const lateReplies: Array<Promise<void>> = [];
  const lateMap = new Map<C, unknown>();
  const settleLate = (group: readonly C[], outcome: Attempt<Settled>) => {
    if (!outcome.ok && outcome.late) lateReplies.push(outcome.late.then((late) => void (late && accept(group, late.value, lateMap))));
  };

  await Promise.all(
    [...groupBy(commands, (command) => nodeOf(client, command.slot))].map(async ([node, group]) => {
      const outcome = await send(node, group, scriptsToLoad(client, node, scriptsOf(group)));
      if (!outcome.ok) return settleLate(group, outcome);
      const lost: C[] = [];
      accept(group, outcome.value, replies, lost);
      if (lost.length === 0) return;
      // The node lost scripts it held (restarted, failed over, flushed): they did not run; load them and send again.
      forgetScriptsHeld(client, node);
      const again = await send(node, lost, scriptsToLoad(client, node, scriptsOf(lost)));
      if (again.ok) accept(lost, again.value, replies);
      else settleLate(lost, again);
    }),
  );
  const late = lateReplies.length > 0 ? Promise.all(lateReplies).then(() => lateMap) : null;
  return { replies, roundTrips, late };
}

/** At most this many nodes are asked by runOnEachMaster: what is reported per node stays bounded whatever the deployment. */
export const MAX_NODES_ASKED = 64;

const NOT_ASKED: Attempt<never> = Object.freeze({ ok: false, reason: 'unavailable' });

/** A node's address without credentials, `host:port` (a Unix socket: `unix:<path>`): how reprise names a node. */
export function nodeAddress(connection: Redis): string {
  const { host, port, path } = connection.options;
  if (path) return `unix:${path}`;
  // Behind Sentinel the options name no server: the socket says which one answers.
  const stream = connection.stream as { remoteAddress?: string; remotePort?: number } | undefined;
  if ((connection.options as { sentinels?: unknown[] }).sentinels?.length && stream?.remoteAddress) {
    return formatAddress(stream.remoteAddress, stream.remotePort ?? port ?? 6379);
  }
  return formatAddress(host ?? 'localhost', port ?? 6379);
}

function formatAddress(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * Commands that concern a node rather than a key (INFO): one attempt per master, each on that node's own connection
 * and through the gateway, so a failing node costs its own answer only. At most MAX_NODES_ASKED masters, in address
 * order. A master whose connection is down or reconnecting is not sent anything (`unavailable` for this call): a
 * question about a node must not wait on a node that cannot answer. Answers are keyed by nodeAddress.
 */
export async function runOnEachMaster<T>(
  gateway: RedisGateway,
  operation: string,
  command: (node: Redis) => Promise<T>,
): Promise<Map<string, Attempt<T>>> {
  const client = gateway.client;
  if (!client) return new Map();
  const nodes = masterConnections(client)
    .map((node) => ({ node, address: nodeAddress(node) }))
    .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0))
    .slice(0, MAX_NODES_ASKED);
  const answers = await Promise.all(
    nodes.map(({ node }) => {
      // A Cluster connects to its masters lazily ('wait' until first used; its offline queue holds the command).
      const reachable = node.status === 'ready' || (isCluster(client) && node.status === 'wait');
      return reachable ? gateway.attempt(operation, () => command(node)) : Promise.resolve(NOT_ASKED);
    }),
  );
  return new Map(nodes.map(({ address }, index) => [address, answers[index]!]));
}
