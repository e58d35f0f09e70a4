/**
 * Lua, the one way reprise runs it: a LuaScript, run by its SHA1 (EVALSHA), its text sent only to a server that
 * does not hold it yet.
 *
 * Why not ioredis `defineCommand`: it adds methods to the client object, and the client may be the host's own (a
 * Redis or Cluster lent through the `redis` option, which the host goes on using). reprise adds nothing to an
 * object it does not own; a LuaScript is a value of its own, so nothing can clash with the host's commands either.
 *
 * Two ways to call one:
 * - `run(client, keys, args)`: one call; EVALSHA, then EVAL when the server answers NOSCRIPT.
 * - `addTo(pipeline, keys, args)`: one command of a per-node pipeline (src/redis/per-node.ts), whose SlotCommand
 *   names the script in `scripts`. The runner puts a SCRIPT LOAD of each script the node is not known to hold at
 *   the head of that node's pipeline (the same round trip), and sends a command answered NOSCRIPT (the node
 *   restarted, failed over, or its scripts were flushed) once more after loading it. So a bulk call costs one round
 *   trip per node whenever the nodes still hold their scripts, and a script's text crosses the wire once per node.
 *   `{ buffers: true }` answers bulk strings as Buffers (ioredis's Buffer variant of EVALSHA); arguments may always be
 *   Buffers.
 *
 * Scripts touch only the keys they are given: on a Cluster, every key of one call must share a hash slot.
 */
import { createHash } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './connection.js';

export type ScriptArg = string | Buffer | number;

export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClient, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }

  /** Queues EVALSHA of this script on a pipeline; the node must hold it (see the runner in per-node.ts). */
  addTo(pipeline: ChainableCommander, keys: readonly string[], args: readonly ScriptArg[], { buffers = false } = {}): void {
    if (buffers) pipeline.callBuffer('evalsha', this.sha, keys.length, ...keys, ...args);
    else pipeline.evalsha(this.sha, keys.length, ...keys, ...args);
  }

  /** Queues SCRIPT LOAD of this script: the pipeline's node holds it for the commands queued after. */
  loadInto(pipeline: ChainableCommander): void {
    pipeline.script('LOAD', this.source);
  }
}

export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** Per client, per node: the SHA1s of the scripts that node is known to hold. */
const held = new WeakMap<RedisClient, Map<string, Set<string>>>();

/** Of `scripts`, those `node` of `client` is not known to hold, each once. */
export function scriptsToLoad(client: RedisClient, node: string, scripts: Iterable<LuaScript>): LuaScript[] {
  const known = held.get(client)?.get(node);
  const missing = new Map<string, LuaScript>();
  for (const script of scripts) if (!known?.has(script.sha)) missing.set(script.sha, script);
  return [...missing.values()];
}

/** `node` of `client` loaded these scripts. */
export function noteScriptsHeld(client: RedisClient, node: string, scripts: readonly LuaScript[]): void {
  if (scripts.length === 0) return;
  let nodes = held.get(client);
  if (!nodes) held.set(client, (nodes = new Map()));
  let known = nodes.get(node);
  if (!known) nodes.set(node, (known = new Set()));
  for (const script of scripts) known.add(script.sha);
}

/** `node` of `client` answered NOSCRIPT: it holds none of them for sure any more. */
export function forgetScriptsHeld(client: RedisClient, node: string): void {
  held.get(client)?.delete(node);
}
