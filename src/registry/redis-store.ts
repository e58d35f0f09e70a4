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
import { FILTER_ADD_SCRIPT, FILTER_CHECK_SCRIPT, FILTER_CLEAR_SCRIPT, FILTER_STATS_SCRIPT, GENERATION_GRACE_SECONDS } from './filter-scripts.js';
import { RegistryLayout, BUCKET_FILL, type Shard, type Space } from './layout.js';
import type { MissingFilterPlan, ShardGenerationFilters } from './missing-filters.js';
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

/** A known-missing mark for the filters: the packed Spotify ID and the generation it was made in. */
export interface FilterItem {
  field: Buffer;
  generation: number;
}

export interface ShardMeta {
  validated: number;
  missing: number;
  reverse: number;
  forwardBuckets: number;
  reverseBuckets: number;
  /** The shard's live generations of missing-mark filters. */
  filters: ShardGenerationFilters[];
}

export interface ForwardRead {
  /** Exact entries, as read(). */
  values: (Buffer | null | undefined)[];
  /** The newest live filter generation holding each ID (null: none, or Redis did not answer). */
  generations: (number | null)[];
  roundTrips: number;
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

  constructor(
    private readonly gateway: RedisGateway,
    keyPrefix: string,
    readonly filters: MissingFilterPlan,
    private readonly onRepair: RepairListener = () => {},
  ) {
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

  /**
   * Forward entries and missing-mark filters together: per shard, the exact read and the filter check ride in the
   * same pipeline, so a bulk check still costs one round trip per node. Filters are read in either mode, so marks
   * made in the other mode still answer until they expire.
   */
  async readForward(fields: Buffer[], nowSeconds: number): Promise<ForwardRead> {
    const { first, last } = this.filters.window(nowSeconds);
    const filterArgs = [nowSeconds, first, last, this.filters.generationSeconds];
    const groups = [...this.groupByShard(fields, (field) => field)].map(([shard, indexes]) => {
      const shardFields = indexes.map((i) => fields[i]!);
      return {
        shard,
        indexes,
        read: onShard(shard, READ_SCRIPT, ['s', ...shardFields], { buffers: true }),
        check: onShard(shard, FILTER_CHECK_SCRIPT, [...filterArgs, ...shardFields]),
      };
    });
    const { replies, roundTrips } = await runPerNode(this.gateway, 'registry.read', groups.flatMap((group) => [group.read, group.check]));
    const values: (Buffer | null | undefined)[] = new Array(fields.length).fill(undefined);
    const generations: (number | null)[] = new Array(fields.length).fill(null);
    for (const { shard, indexes, read, check } of groups) {
      const exact = replies.get(read);
      if (Array.isArray(exact)) {
        indexes.forEach((index, position) => {
          const value = exact[position];
          values[index] = Buffer.isBuffer(value) ? value : null;
        });
        this.noteRepairs(shard, exact[indexes.length]);
      }
      const found = replies.get(check);
      if (Array.isArray(found)) {
        indexes.forEach((index, position) => {
          const generation = found[position];
          if (typeof generation === 'number' && Number.isSafeInteger(generation) && generation >= first && generation <= last) generations[index] = generation;
        });
        this.noteRepairs(shard, found[indexes.length]);
      }
    }
    return { values, generations, roundTrips };
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

  /** Adds known-missing marks to their generations' filters (one script per shard, one pipeline per node). */
  async addToFilters(items: FilterItem[], nowSeconds: number): Promise<WriteReport> {
    const plan = this.filters;
    const commands = [...this.groupByShard(items, (item) => item.field)].map(([shard, indexes]) => {
      const args: ScriptArg[] = [nowSeconds, plan.generationSeconds, plan.ttlSeconds, GENERATION_GRACE_SECONDS, plan.filters.length, ...plan.geometryArgs];
      for (const index of indexes) args.push(items[index]!.field, items[index]!.generation);
      return { ...onShard(shard, FILTER_ADD_SCRIPT, args), indexes };
    });
    const { replies, roundTrips, late } = await runPerNode(this.gateway, 'registry.write', commands, { write: true });
    const outcome = (answered: Map<(typeof commands)[number], unknown>) => {
      const written = new Array<boolean>(items.length).fill(false);
      for (const command of commands) {
        const reply = answered.get(command);
        if (!Array.isArray(reply)) continue;
        for (const index of command.indexes) written[index] = true;
        this.noteRepairs(command.shard, reply[1]);
      }
      return { written, replaced: [] };
    };
    return { ...outcome(replies), roundTrips, late: late?.then(outcome) ?? null };
  }

  /** Deletes every live filter generation of every shard; returns the keys deleted, or null unless all answered. */
  async clearFilters(nowSeconds: number): Promise<number | null> {
    const { first, last } = this.filters.window(nowSeconds);
    const commands = this.layout.shards.map((shard) => onShard(shard, FILTER_CLEAR_SCRIPT, [first, last, this.filters.generationSeconds]));
    const { replies } = await runPerNode(this.gateway, 'registry.clear_filters', commands, { write: true });
    let deleted = 0;
    for (const command of commands) {
      const reply = replies.get(command);
      if (!Array.isArray(reply)) return null;
      deleted += count(reply[0]);
    }
    return deleted;
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
   * Counts and geometry of every shard (repaired first where damaged), with its live filter generations (bits set
   * counted when `countBits`): two scripts per shard, one pipeline per node. Null unless all answered.
   */
  async meta(nowSeconds: number, { countBits = false } = {}): Promise<ShardMeta[] | null> {
    const { first, last } = this.filters.window(nowSeconds);
    const filterArgs = [first, last, this.filters.generationSeconds, countBits ? 1 : 0];
    const groups = this.layout.shards.map((shard) => ({
      shard,
      stats: onShard(shard, STATS_SCRIPT, []),
      filters: onShard(shard, FILTER_STATS_SCRIPT, filterArgs),
    }));
    const { replies } = await runPerNode(this.gateway, 'registry.stats', groups.flatMap((group) => [group.stats, group.filters]));
    const shards: ShardMeta[] = [];
    for (const group of groups) {
      const reply = replies.get(group.stats);
      const filterReply = replies.get(group.filters);
      if (!Array.isArray(reply) || !Array.isArray(filterReply)) return null;
      const [validated, missing, reverse, forwardBuckets, reverseBuckets, repairs] = reply as unknown[];
      this.noteRepairs(group.shard, repairs);
      this.noteRepairs(group.shard, filterReply[filterReply.length - 1]);
      shards.push({
        validated: count(validated),
        missing: count(missing),
        reverse: count(reverse),
        forwardBuckets: count(forwardBuckets),
        reverseBuckets: count(reverseBuckets),
        filters: generationsOf(filterReply.slice(0, -1), first, last),
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

/** FILTER_STATS_SCRIPT's flat reply as generations; anything malformed ends the list (the scripts never send it). */
function generationsOf(flat: readonly unknown[], first: number, last: number): ShardGenerationFilters[] {
  const generations: ShardGenerationFilters[] = [];
  let at = 0;
  while (at + 2 <= flat.length) {
    const generation = flat[at];
    const filters = count(flat[at + 1]);
    if (typeof generation !== 'number' || generation < first || generation > last || at + 2 + 5 * filters > flat.length) break;
    const row: ShardGenerationFilters = { generation, filters: [] };
    for (let i = 0; i < filters; i++) {
      const [ids, capacity, blocks, hashes, bitsSet] = flat.slice(at + 2 + 5 * i, at + 7 + 5 * i);
      row.filters.push({ count: count(ids), capacity: count(capacity), blocks: count(blocks), hashes: count(hashes), bitsSet: bitsSet === -1 ? null : count(bitsSet) });
    }
    generations.push(row);
    at += 2 + 5 * filters;
  }
  return generations;
}
