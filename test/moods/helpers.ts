/** Building blocks of the popular mood tests: instances on a backend (or memory), controllable workflows. */
import { Registry } from 'prom-client';
import { createCacheParts, type CacheOptions } from '../../src/cache/create-cache.js';
import type { RepriseCache } from '../../src/cache/reprise-cache.js';
import type { RedisGateway } from '../../src/redis/gateway.js';
import { PopularMoods } from '../../src/moods/popular-moods.js';
import type { PopularMoodsOptions } from '../../src/moods/options.js';
import type { ComputeContext, ComputedRecommendations } from '../../src/moods/types.js';
import { Telemetry } from '../../src/telemetry/telemetry.js';
import type { Backend } from '../harness/backends.js';
import { closeAfterEachTest, useBackend } from '../harness/lifecycle.js';
import { recordingLogger, type RecordingLogger } from '../harness/logger.js';
import { pollUntil } from '../harness/redis-servers.js';

export interface MoodsInstance {
  cache: RepriseCache;
  gateway: RedisGateway;
  moods: PopularMoods;
  telemetry: Telemetry;
  logger: RecordingLogger;
  close(): Promise<void>;
}

export type InstanceOptions = Partial<Omit<PopularMoodsOptions, 'cache' | 'gateway'>> & {
  cacheOptions?: CacheOptions;
  /** Default true: fail unless Redis answers. */
  waitForRedis?: boolean;
};

/** One "worker": its own cache, Redis connection and PopularMoods, as createReprise would build them. */
export async function openInstance(redisUrl: string | null, keyPrefix: string, options: InstanceOptions = {}): Promise<MoodsInstance> {
  const { cacheOptions, waitForRedis = true, ...moodOptions } = options;
  const logger = recordingLogger();
  const telemetry = moodOptions.telemetry ?? new Telemetry({ registry: new Registry() });
  const { cache, gateway } = createCacheParts({
    ...(redisUrl ? { redisUrl } : {}),
    keyPrefix,
    logger,
    // Behaviour tests: a busy 2-core machine must not push a command into memory-only mode.
    redisCommandTimeoutMs: 2_000,
    redisConnectTimeoutMs: 15_000,
    telemetry,
    env: {},
    ...cacheOptions,
  });
  // As createReprise does: connected, and listening to the other instances (the first confirmation drops memory).
  if (redisUrl && waitForRedis && !(await gateway.waitUntilReady(10_000) && (await cache.listening))) {
    await cache.close();
    throw new Error(`no Redis at ${redisUrl}`);
  }
  let moods: PopularMoods;
  try {
    moods = new PopularMoods({ cache, gateway, telemetry, logger, env: {}, warmSchedule: false, ...moodOptions });
  } catch (error) {
    await cache.close();
    throw error;
  }
  let closed = false;
  return {
    cache,
    gateway,
    moods,
    telemetry,
    logger,
    async close() {
      if (closed) return;
      closed = true;
      await moods.close();
      await cache.close();
    },
  };
}

/** Where a suite's instances live: in memory only, or on a Redis backend. */
export type InstanceMode = 'memory' | Backend['name'];
type BackendOf<M extends InstanceMode> = M extends 'memory' ? null : Backend;

export interface InstanceSuite<M extends InstanceMode> {
  /** The suite's backend (null in memory mode); inside tests and hooks only. */
  backend(): BackendOf<M>;
  /** Opens an instance on the suite's backend, closed after the test; without `prefix`, a fresh `<stem><n>:` one. */
  open(options?: InstanceOptions, prefix?: string): Promise<MoodsInstance>;
  /** A key prefix no other instance of the suite has used. */
  freshPrefix(): string;
  /** Closes an instance opened some other way after the test, like those open() returns. */
  closeAfterTest(instance: MoodsInstance): void;
}

/**
 * The instances of one suite: on `mode`'s backend (started before the suite's tests, destroyed after them) or in
 * memory, and every instance opened in a test closed after it. Call it inside the describe (or at file level).
 */
export function useInstances<M extends InstanceMode>(mode: M, prefixStem: string): InstanceSuite<M> {
  const backend = (mode === 'memory' ? () => null : useBackend(mode as Backend['name'])) as () => BackendOf<M>;
  const opened = closeAfterEachTest<MoodsInstance>();
  let prefixCounter = 0;
  const freshPrefix = () => `${prefixStem}${++prefixCounter}:`;
  return {
    backend,
    freshPrefix,
    closeAfterTest: (instance) => {
      opened.push(instance);
    },
    async open(options = {}, prefix = freshPrefix()) {
      const instance = await openInstance(backend()?.url ?? null, prefix, options);
      opened.push(instance);
      return instance;
    },
  };
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface ComputeCall {
  mood: string;
  ctx: ComputeContext;
  answer: Deferred<ComputedRecommendations>;
}

/** A workflow whose every call waits until the test answers it; it records calls and the most at once. */
export function controlledCompute() {
  const calls: ComputeCall[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const compute = (mood: string, ctx: ComputeContext): Promise<ComputedRecommendations> => {
    const answer = deferred<ComputedRecommendations>();
    calls.push({ mood, ctx, answer });
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    return answer.promise.finally(() => {
      inFlight -= 1;
    });
  };
  return {
    compute,
    calls,
    get maxInFlight() {
      return maxInFlight;
    },
    /** Answers the call for `mood` with a result naming it. */
    answer(mood: string) {
      const call = calls.find((candidate) => candidate.mood === mood);
      if (!call) throw new Error(`no compute call for ${mood}`);
      call.answer.resolve(resultFor(mood));
    },
    answerAll() {
      for (const call of calls) call.answer.resolve(resultFor(call.mood));
    },
  };
}

/** A workflow that answers at once and counts calls per mood. */
export function countingCompute() {
  const calls: string[] = [];
  const compute = async (mood: string): Promise<ComputedRecommendations> => {
    calls.push(mood);
    return resultFor(mood);
  };
  return {
    compute,
    calls,
    callsFor: (mood: string) => calls.filter((call) => call === mood).length,
  };
}

export function resultFor(mood: string): ComputedRecommendations {
  return { recommendations: [{ id: `track-for-${mood}`, title: mood }], moodAnalysis: { mood, energy: 0.5 } };
}

/** Lets pending callbacks and I/O run once (to observe that something has NOT happened yet). */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Waits until the key's TTL goes up: without renewal PTTL only falls, so any reading above the lowest seen so far
 * means the lease was extended.
 */
export async function pollForRenewal(pttl: () => number, what: string): Promise<void> {
  let lowest = Infinity;
  await pollUntil(() => {
    const now = pttl();
    if (now <= 0) throw new Error(`${what}: the key expired (PTTL ${now})`);
    if (now > lowest) return true;
    lowest = now;
    return false;
  }, what);
}
