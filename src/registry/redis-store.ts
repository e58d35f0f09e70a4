/**
 * The registry's Redis side: packed fields and values in, packed values out, one script per shard, one pipeline
 * per node. It knows nothing of TTL policy or ID text; an answer of `undefined` means "Redis did not answer for
 * this one" and the caller falls back to memory. The scripts repair damaged data they meet (scripts.ts) and say
 * how many repairs they made: those are handed to `onRepair`, and every number read from Redis is checked again here.
 */
import { groupBy } from '../collections.js';
import type { RedisGateway } from '../redis/gateway.js';
import type { LuaScript, ScriptArg } from '../redis/lua-script.js';
import { runPerNode, type SlotCommand } from '../redis/per-node.js';
import { RegistryLayout, BUCKET_FILL, type Shard, type Space } from './layout.js';
import { READ_SCRIPT, STATS_SCRIPT, SWEEP_SCRIPT, UNLINK_SCRIPT, WRITE_SCRIPT } from './scripts.js';

export type WriteOp = 'v' | 'm' | 'r';

export interface WriteItem {
  op: WriteOp;
  field: Buffer;
  value: Buffer;
}

export interface UnlinkItem {
  space: Space;
  field: Buffer;
  /** Removed only if the entry still points to this partner. */
  partner: Buffer;
}

export interface WriteReport {
  /** Whether Redis took each item (false: its node failed). */
  written: boolean[];
  /** A written mapping replaced one with another partner: that partner's entry in the other space may be stale. */
  replaced: { item: number; oldPartner: Buffer }[];
  roundTrips: number;
  /** For items whose pipeline was given up while Redis still worked on it: what landed in the end, or null. */
  late: Promise<Pick<WriteReport, 'written' | 'replaced'>> | null;
}

export interface ShardMeta {
  validated: number;
  missing: number;
  reverse: number;
  forwardBuckets: number;
  reverseBuckets: number;
}

export interface SweepStep {
  status: 'more' | 'done' | 'skipped';
  removed: { validated: number; missing: number; reverse: number };
  drift: number;
}

/** Told of each shard where a script found damaged data (a key of the wrong type, a field that is not a count...). */
export type RepairListener = (shard: Shard, repairs: number) => void;

/** One registry script on one shard: KEYS[1] is the shard's meta hash, ARGV[1] its bucket base, then `args`. */
interface ShardCommand extends SlotCommand {
  shard: Shard;
}

function onShard(shard: Shard, script: LuaScript, args: readonly ScriptArg[], { buffers = false } = {}): ShardCommand {
  return {
    shard,
    slot: shard.slot,
    scripts: [script],
    add: (pipeline) => script.addTo(pipeline, [shard.metaKey], [shard.bucketBase, ...args], { buffers }),
  };
}

/** Backstop key TTL beyond an entry's own expiry: sweeps normally remove entries long before. */
export const BACKSTOP_GRACE_SECONDS = 24 * 60 * 60;

export class RedisRegistryStore {
  readonly layout: RegistryLayout;

  constructor(private readonly gateway: RedisGateway, keyPrefix: string, private readonly onRepair: RepairListener = () => {}) {
    this.layout = new RegistryLayout(keyPrefix);
  }

  get configured(): boolean {
    return this.gateway.client !== null;
  }

  async read(space: Space, fields: Buffer[]): Promise<{ values: (Buffer | null | undefined)[]; roundTrips: number }> {
    const commands = [...this.groupByShard(fields, (field) => field)].map(([shard, indexes]) => ({
      ...onShard(shard, READ_SCRIPT, [space, ...indexes.map((i) => fields[i]!)], { buffers: true }),
      indexes,
    }));
    const { replies, roundTrips } = await runPerNode(this.gateway, 'registry.read', commands);
    const values: (Buffer | null | undefined)[] = new Array(fields.length).fill(undefined);
    for (const command of commands) {
      const { shard, indexes } = command;
      const reply = replies.get(command);
      if (!Array.isArray(reply)) continue;
      indexes.forEach((index, position) => {
        const value = reply[position];
        values[index] = Buffer.isBuffer(value) ? value : null;
      });
      this.noteRepairs(shard, reply[indexes.length]);
    }
    return { values, roundTrips };
  }

  async write(items: WriteItem[], nowSeconds: number): Promise<WriteReport> {
    const commands = [...this.groupByShard(items, (item) => item.field)].map(([shard, indexes]) => {
      const args: ScriptArg[] = [nowSeconds, BACKSTOP_GRACE_SECONDS, BUCKET_FILL];
      for (const index of indexes) {
        const item = items[index]!;
        args.push(item.op, item.field, item.value);
      }
      return { ...onShard(shard, WRITE_SCRIPT, args, { buffers: true }), indexes };
    });
    const { replies, roundTrips, late } = await runPerNode(this.gateway, 'registry.write', commands, { write: true });
    // What the scripts' replies say: which items Redis took, and which mappings they replaced.
    const outcome = (answered: Map<(typeof commands)[number], unknown>) => {
      const written = new Array<boolean>(items.length).fill(false);
      const replaced: WriteReport['replaced'] = [];
      for (const command of commands) {
        const { shard, indexes } = command;
        const reply = answered.get(command);
        if (!Array.isArray(reply)) continue;
        for (const index of indexes) written[index] = true;
        // (item, old partner) pairs, then the repairs made.
        this.noteRepairs(shard, reply[reply.length - 1]);
        for (let i = 0; i + 2 < reply.length; i += 2) {
          const item = indexes[Number(reply[i]) - 1];
          const oldPartner = reply[i + 1];
          if (item !== undefined && Buffer.isBuffer(oldPartner)) replaced.push({ item, oldPartner });
        }
      }
      return { written, replaced };
    };
    return { ...outcome(replies), roundTrips, late: late?.then(outcome) ?? null };
  }

  async unlink(items: UnlinkItem[]): Promise<number> {
    const commands = [...this.groupByShard(items, (item) => item.field)].map(([shard, indexes]) =>
      onShard(shard, UNLINK_SCRIPT, indexes.flatMap((index) => [items[index]!.space, items[index]!.field, items[index]!.partner])),
    );
    const { replies } = await runPerNode(this.gateway, 'registry.unlink', commands);
    let removed = 0;
    for (const [command, reply] of replies) {
      if (!Array.isArray(reply)) continue;
      removed += count(reply[0]);
      this.noteRepairs(command.shard, reply[1]);
    }
    return removed;
  }

  /** One sweep step on one shard's space; null when Redis did not answer. */
  async sweepStep(shard: Shard, space: Space, nowSeconds: number, budget: number, minGapSeconds: number): Promise<SweepStep | null> {
    const command = onShard(shard, SWEEP_SCRIPT, [space, nowSeconds, budget, minGapSeconds]);
    const { replies } = await runPerNode(this.gateway, 'registry.sweep', [command]);
    const reply = replies.get(command);
    if (!Array.isArray(reply)) return null;
    const [status, validated, missing, reverse, drift, repairs] = reply as unknown[];
    this.noteRepairs(shard, repairs);
    return {
      status: status === 'more' || status === 'done' ? status : 'skipped',
      removed: { validated: count(validated), missing: count(missing), reverse: count(reverse) },
      drift: count(drift),
    };
  }

  /**
   * Counts and geometry of every shard (repaired first where damaged): one script per shard, one pipeline per node.
   * Null unless all answered.
   */
  async meta(): Promise<ShardMeta[] | null> {
    const commands = this.layout.shards.map((shard) => onShard(shard, STATS_SCRIPT, []));
    const { replies } = await runPerNode(this.gateway, 'registry.stats', commands);
    const shards: ShardMeta[] = [];
    for (const command of commands) {
      const reply = replies.get(command);
      if (!Array.isArray(reply)) return null;
      const [validated, missing, reverse, forwardBuckets, reverseBuckets, repairs] = reply as unknown[];
      this.noteRepairs(command.shard, repairs);
      shards.push({
        validated: count(validated),
        missing: count(missing),
        reverse: count(reverse),
        forwardBuckets: count(forwardBuckets),
        reverseBuckets: count(reverseBuckets),
      });
    }
    return shards;
  }

  private noteRepairs(shard: Shard, repairs: unknown): void {
    const n = count(repairs);
    if (n > 0) this.onRepair(shard, n);
  }

  /** The indexes of `items`, grouped by the shard of each item's field. */
  private groupByShard<T>(items: readonly T[], fieldOf: (item: T) => Buffer): Map<Shard, number[]> {
    return groupBy(items.keys(), (index) => this.layout.shardOf(fieldOf(items[index]!)));
  }
}

/** A count from a script reply: a whole number >= 0, or 0 for anything else (the scripts never send anything else). */
function count(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' || Buffer.isBuffer(value) ? Number(value.toString()) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}
