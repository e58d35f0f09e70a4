/**
 * How often each mood is asked for, with older requests counting less: a request made now adds 2^(age / halfLife)
 * to its mood's score, where age is the time since a shared epoch. Recent requests thus outweigh old ones without
 * ever rewriting the set; when weights grow large the whole set is scaled down once and the epoch moves to now.
 *
 * Shared by every worker in a Redis sorted set (updated by one Lua script, so concurrent workers never race); kept
 * in a bounded Map of this process when there is no Redis or Redis is unavailable. Both hold at most `maxMoods`
 * moods, dropping the least requested.
 *
 * Damaged data in Redis is repaired by the script, never turned into NaN scores or errors: an epoch that is not a
 * finite number (or lies further in the future than a rebase would ever put it) is reset to now, and the scores,
 * whose time base is then unknown, are kept in order but scaled so the largest counts as one request made now;
 * scores that are not finite positive numbers are dropped; a key holding another Redis type is replaced.
 */
import type { Logger } from '../logger.js';
import type { RedisGateway } from '../redis/gateway.js';
import { LuaScript } from '../redis/lua-script.js';
import { DEFAULT_USAGE_HALF_LIFE_MS, DEFAULT_USAGE_MAX_MOODS, MAX_TRACKED_MOOD_LENGTH } from './defaults.js';
import { RepriseInputError } from '../errors.js';
import { positiveNumber, wholeNumber } from '../validate.js';

/** Past this many half-lives since the epoch, scores are scaled down and the epoch reset (2^32 keeps doubles exact enough). */
const REBASE_AFTER_HALF_LIVES = 32;
/** Keys expire after this many half-lives without a request: by then every score has decayed to nothing. */
const EXPIRE_AFTER_HALF_LIVES = 30;

const RECORD = new LuaScript(`
local now = tonumber(ARGV[2])
local halfLife = tonumber(ARGV[3])
local maxMoods = tonumber(ARGV[4])
local rebaseAfter = tonumber(ARGV[6])
local function finite(x) return type(x) == 'number' and x == x and x ~= math.huge and x ~= -math.huge end
-- Keys of another type hold nothing of ours: replaced.
local scoresType = redis.call('TYPE', KEYS[1])['ok']
if scoresType ~= 'zset' and scoresType ~= 'none' then redis.call('DEL', KEYS[1]) end
local stored = redis.pcall('GET', KEYS[2])
if type(stored) == 'table' then
  redis.call('DEL', KEYS[2])
  stored = false
end
local epoch = stored and tonumber(stored)
-- Keeps every score a finite number > 0, the largest at most 'top'.
local function saneScores(top)
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', 0)
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '+inf', '+inf')
  local largest = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
  largest = largest and tonumber(largest)
  if finite(largest) and largest > top then redis.call('ZUNIONSTORE', KEYS[1], 1, KEYS[1], 'WEIGHTS', top / largest) end
end
if stored and not (finite(epoch) and (epoch - now) / halfLife <= rebaseAfter) then
  -- Damaged ('nan', 'inf', text, or far in the future): the scores' time base is unknown.
  saneScores(1)
  epoch = nil
end
if not epoch then
  epoch = now
  redis.call('SET', KEYS[2], epoch)
end
local age = (now - epoch) / halfLife
if age > rebaseAfter then
  redis.call('ZUNIONSTORE', KEYS[1], 1, KEYS[1], 'WEIGHTS', 2 ^ (-age))
  saneScores(2 ^ rebaseAfter)
  epoch = now
  redis.call('SET', KEYS[2], epoch)
  age = 0
end
local score = tonumber(redis.call('ZINCRBY', KEYS[1], 2 ^ age, ARGV[1]))
if not finite(score) then redis.call('ZADD', KEYS[1], 2 ^ age, ARGV[1]) end
local excess = redis.call('ZCARD', KEYS[1]) - maxMoods
if excess > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1)
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 1`);

const TOP = new LuaScript(`
local epoch = redis.pcall('GET', KEYS[2])
local n = type(epoch) == 'string' and tonumber(epoch)
if not n or n ~= n or n == math.huge or n == -math.huge then
  return {}
end
local range = redis.pcall('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
if range['err'] then
  return {}
end
return { epoch, range }`);


export interface MoodCount {
  /** The normalised mood. */
  mood: string;
  /** Requests, each weighted by how recent it is (a request just made counts 1, one a half-life ago 0.5). */
  score: number;
}

export interface MoodUsageOptions {
  gateway: RedisGateway;
  keyPrefix: string;
  halfLifeMs?: number;
  maxMoods?: number;
  /** The time source (default Date.now). */
  now?: () => number;
  logger: Logger;
}

export class MoodUsage {
  readonly halfLifeMs: number;
  readonly maxMoods: number;
  private readonly gateway: RedisGateway;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly keys: [scores: string, epoch: string];
  private readonly memory: MemoryCounts;
  private degradedLogged = false;

  constructor(options: MoodUsageOptions) {
    this.halfLifeMs = positiveNumber(options.halfLifeMs ?? DEFAULT_USAGE_HALF_LIFE_MS, 'usageHalfLifeMs');
    this.maxMoods = wholeNumber(options.maxMoods ?? DEFAULT_USAGE_MAX_MOODS, 'usageMaxMoods');
    this.gateway = options.gateway;
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    // One hash tag for both keys, so the script may touch them together on a Cluster.
    const tag = `{${options.keyPrefix}mood-usage}`;
    this.keys = [`${options.keyPrefix}@mood-usage:${tag}:scores`, `${options.keyPrefix}@mood-usage:${tag}:epoch`];
    this.memory = new MemoryCounts(this.halfLifeMs, this.maxMoods);
  }

  /** Counts one request for a normalised mood. Never throws; prompts too long to be a mood are not tracked. */
  async record(mood: string): Promise<void> {
    if (mood.length > MAX_TRACKED_MOOD_LENGTH) return;
    const now = this.now();
    if (!this.gateway.client) {
      this.memory.record(mood, now);
      return;
    }
    const expireMs = Math.ceil(this.halfLifeMs * EXPIRE_AFTER_HALF_LIVES);
    const recorded = await this.gateway.attempt(
      'usage.record',
      (client) => RECORD.run(client, this.keys, [mood, now, this.halfLifeMs, this.maxMoods, expireMs, REBASE_AFTER_HALF_LIVES]),
      { write: true },
    );
    if (!recorded.ok) {
      if (!this.degradedLogged) this.logger.warn('mood usage: Redis unavailable, counting requests in this process only');
      this.degradedLogged = true;
      this.memory.record(mood, now);
    }
  }

  /** The `n` most requested moods, most requested first. */
  async top(n: number): Promise<MoodCount[]> {
    if (!Number.isInteger(n) || n < 0) throw new RepriseInputError(`topMoods needs a whole number >= 0, got ${n}`);
    if (n === 0) return [];
    const now = this.now();
    if (!this.gateway.client) return this.memory.top(n, now);
    const reply = await this.gateway.attempt('usage.top', (client) => TOP.run(client, this.keys, [n]));
    return reply.ok ? this.parseTop(reply.value, now) : this.memory.top(n, now);
  }

  /** Reads the script's `[epoch, [mood, score, ...]]` reply; anything else counts as no data. */
  private parseTop(reply: unknown, now: number): MoodCount[] {
    if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1])) return [];
    const epoch = Number(reply[0]);
    if (!Number.isFinite(epoch)) return [];
    const toNow = 2 ** (-(now - epoch) / this.halfLifeMs);
    const flat = reply[1] as unknown[];
    const counts: MoodCount[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const score = Number(flat[i + 1]);
      if (typeof flat[i] === 'string' && Number.isFinite(score)) counts.push({ mood: flat[i] as string, score: score * toNow });
    }
    return counts;
  }
}

/** The same arithmetic in a Map of this process. */
class MemoryCounts {
  private readonly scores = new Map<string, number>();
  private epoch: number | null = null;

  constructor(private readonly halfLifeMs: number, private readonly maxMoods: number) {}

  record(mood: string, now: number): void {
    this.epoch ??= now;
    let age = (now - this.epoch) / this.halfLifeMs;
    if (age > REBASE_AFTER_HALF_LIVES) {
      const scale = 2 ** -age;
      for (const [key, score] of this.scores) this.scores.set(key, score * scale);
      this.epoch = now;
      age = 0;
    }
    this.scores.set(mood, (this.scores.get(mood) ?? 0) + 2 ** age);
    if (this.scores.size > this.maxMoods) this.dropLeastRequested();
  }

  top(n: number, now: number): MoodCount[] {
    if (this.epoch === null) return [];
    const toNow = 2 ** (-(now - this.epoch) / this.halfLifeMs);
    return [...this.scores]
      .sort(([moodA, a], [moodB, b]) => b - a || (moodA < moodB ? 1 : -1))
      .slice(0, n)
      .map(([mood, score]) => ({ mood, score: score * toNow }));
  }

  private dropLeastRequested(): void {
    let least: string | undefined;
    let leastScore = Infinity;
    for (const [mood, score] of this.scores) {
      if (score < leastScore) {
        least = mood;
        leastScore = score;
      }
    }
    if (least !== undefined) this.scores.delete(least);
  }
}
