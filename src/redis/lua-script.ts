/**
 * A Lua script run by its SHA1 (EVALSHA), falling back to EVAL the first time a server has not seen it yet, so
 * frequent scripts do not resend their text and no command is added to a client the host may have lent us.
 * Scripts touch only the keys they are given: on a Cluster, every key of one call must share a hash slot.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from './connection.js';

export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
