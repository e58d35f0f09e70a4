/**
 * Part 3: the original system's latency scenarios, end to end through the demo back end (HTTP, Express, reprise,
 * the ReccoBeats client) against the ReccoBeats simulator, with every upstream wait the original's divided by 100
 * (a ~120 s cold workflow becomes ~1.2 s). Each request is timed by the client and its upstream calls counted.
 */
import { startDemo, SCALED_LATENCIES, type Demo, type DemoOptions } from '../../examples/demo/server.js';
import { startReccobeatsSimulator, type ReccobeatsSimulator } from '../../src/reccobeats/simulator/index.js';
import { silentLogger } from '../../src/logger.js';
import { startBenchRedis } from '../lib/bench-redis.js';
import { scenariosMarkdown, summarizeScenario, type RequestSample, type ScenarioRow } from '../lib/scenarios-report.js';
import type { RedisServer } from '../../test/harness/redis-servers.js';

export interface ScenariosOutcome {
  rows: ScenarioRow[];
  markdown: string;
}

/** Prompts no popular mood normalises to; request i of a scenario uses prompt i. */
const PROMPTS = [
  'rainy sunday coding',
  'sunny beach running',
  'quiet library study',
  'stormy night drive',
  'spring garden picnic',
  'winter cabin reading',
  'city rooftop dancing',
  'autumn forest walk',
  'long train journey home',
  'early bakery shift',
  'desert road trip',
  'foggy harbour morning',
];

interface Bench {
  redis: RedisServer;
  simulator: ReccobeatsSimulator;
  latencyScale: number;
}

export interface ScenarioOptions {
  /** Measured requests per scenario (at most one less than the prompts there are). */
  requests: number;
  /** Multiplies every upstream wait; 1 (default) is the original's latencies divided by 100. */
  latencyScale?: number;
}

export async function benchScenarios(options: ScenarioOptions, log: (line: string) => void): Promise<ScenariosOutcome> {
  const requests = Math.min(options.requests, PROMPTS.length - 1);
  const latencyScale = options.latencyScale ?? 1;
  const redis = await startBenchRedis();
  const simulator = await startReccobeatsSimulator({ latency: SCALED_LATENCIES.reccobeatsMs * latencyScale, logger: silentLogger });
  const bench: Bench = { redis, simulator, latencyScale };
  const rows: ScenarioRow[] = [];
  try {
    const run = async (name: string, measure: () => Promise<RequestSample[]>) => {
      log(`  ${name}`);
      rows.push(summarizeScenario(name, await measure()));
    };
    await run(BASELINE, () => noCache(bench, requests));
    await run(COLD, () => coldCache(bench, requests));
    await run(WARM_SYSTEM, () => firstTimeOnWarmSystem(bench, requests));
    await run(RETURNING, () => returningSameInstance(bench, requests));
    await run(RETURNING_ELSEWHERE, () => returningOtherInstance(bench, requests));
    await run(POPULAR, () => popularPrecomputed(bench, requests));
    await run(TWEAKED, () => tweakedPrompt(bench, requests));
  } finally {
    await simulator.close();
    await redis.destroy();
  }
  return { rows, markdown: scenariosMarkdown(rows) };
}

export const BASELINE = 'no cache at all (baseline)';
export const COLD = 'first-time user, cold cache';
export const WARM_SYSTEM = 'first-time user on a system other users warmed (shared registry and track details, own data cold)';
export const RETURNING = 'returning user, warm cache';
export const RETURNING_ELSEWHERE = 'returning user, warm cache, on another instance (memory cold, Redis warm)';
export const POPULAR = 'popular mood, precomputed';
export const TWEAKED = 'tweaked prompt, same user (artifact reuse)';

async function noCache(bench: Bench, requests: number): Promise<RequestSample[]> {
  return withDemo(bench, { keyPrefix: 'nocache:', useCache: false }, async (demo) => {
    await playlist(bench, demo, 'warm-up', PROMPTS[PROMPTS.length - 1]!, 'computed');
    return sequence(requests, (i) => playlist(bench, demo, `first-${i}`, PROMPTS[i]!, 'computed'));
  });
}

/** Every request on a new instance with a key prefix of its own: nothing of it is in memory or in Redis. */
async function coldCache(bench: Bench, requests: number): Promise<RequestSample[]> {
  await withDemo(bench, { keyPrefix: 'cold-warm-up:' }, (demo) => playlist(bench, demo, 'warm-up', PROMPTS[PROMPTS.length - 1]!, 'computed'));
  return sequence(requests, (i) =>
    withDemo(bench, { keyPrefix: `cold${i}:` }, (demo) => playlist(bench, demo, `first-${i}`, PROMPTS[i]!, 'computed')),
  );
}

/** Users who came before the measured ones: enough that the chart tracks most users share are known. */
const EARLIER_USERS = 40;

/**
 * The original's first-time case: other users have used the system, so the ID registry and the per-track details
 * (audio features) they needed are in Redis; the new user's own data (top tracks, seeds, a mood nobody asked for
 * yet) is not. Each measured request is a new user; the same user's request without any cache gives the ReccoBeats
 * requests the shared data avoided.
 */
async function firstTimeOnWarmSystem(bench: Bench, requests: number): Promise<RequestSample[]> {
  const newcomerPrompt = (i: number) => `${PROMPTS[i]!} for the first time`;
  const samples = await withDemo(bench, { keyPrefix: 'warm-system:' }, async (demo) => {
    for (let start = 0; start < EARLIER_USERS; start += 8) {
      const users = Array.from({ length: Math.min(8, EARLIER_USERS - start) }, (_, offset) => start + offset);
      await Promise.all(users.map((user) => playlist(bench, demo, `earlier-${user}`, PROMPTS[user % PROMPTS.length]!, 'computed')));
    }
    return sequence(requests, (i) => playlist(bench, demo, `newcomer-${i}`, newcomerPrompt(i), 'computed'));
  });
  const withoutCache = await withDemo(bench, { keyPrefix: 'warm-system-nocache:', useCache: false }, (demo) =>
    sequence(requests, (i) => playlist(bench, demo, `newcomer-${i}`, newcomerPrompt(i), 'computed')),
  );
  return samples.map((sample, i) => ({ ...sample, reccobeatsAvoided: withoutCache[i]!.reccobeatsRequests - sample.reccobeatsRequests }));
}

async function returningSameInstance(bench: Bench, requests: number): Promise<RequestSample[]> {
  return withDemo(bench, { keyPrefix: 'returning:' }, async (demo) => {
    await playlist(bench, demo, 'regular', PROMPTS[0]!, 'computed');
    return sequence(requests, () => playlist(bench, demo, 'regular', PROMPTS[0]!, 'cached'));
  });
}

/** The user's first request went to one instance; each measured request reaches a new one sharing the Redis. */
async function returningOtherInstance(bench: Bench, requests: number): Promise<RequestSample[]> {
  await withDemo(bench, { keyPrefix: 'elsewhere:' }, (demo) => playlist(bench, demo, 'regular', PROMPTS[0]!, 'computed'));
  return sequence(requests, () => withDemo(bench, { keyPrefix: 'elsewhere:' }, (demo) => playlist(bench, demo, 'regular', PROMPTS[0]!, 'cached')));
}

async function popularPrecomputed(bench: Bench, requests: number): Promise<RequestSample[]> {
  return withDemo(bench, { keyPrefix: 'popular:' }, async (demo) => {
    const report = await demo.reprise.popularMoods.warm({ moods: ['party vibes'] });
    if (report.status !== 'succeeded') throw new Error(`warming "party vibes" ended ${report.status}`);
    return sequence(requests, (i) => playlist(bench, demo, `listener-${i}`, 'Party Vibes!', 'precomputed'));
  });
}

/** Each user first asks for one prompt, then for it with a filler word added: a new prompt that reuses the work. */
async function tweakedPrompt(bench: Bench, requests: number): Promise<RequestSample[]> {
  return withDemo(bench, { keyPrefix: 'tweaked:' }, (demo) =>
    sequence(requests, async (i) => {
      await playlist(bench, demo, `tweaker-${i}`, PROMPTS[i]!, 'computed');
      return playlist(bench, demo, `tweaker-${i}`, `${PROMPTS[i]!} music`, 'reused-artifacts');
    }),
  );
}

async function withDemo<T>(bench: Bench, options: Pick<DemoOptions, 'keyPrefix' | 'useCache'>, use: (demo: Demo) => Promise<T>): Promise<T> {
  const demo = await startDemo({
    ...options,
    redisUrl: bench.redis.url,
    reccobeatsBaseUrl: bench.simulator.url,
    latencyScale: bench.latencyScale,
    warmSchedule: false,
    quiet: true,
    env: {},
  });
  try {
    if (options.useCache !== false && demo.reprise.cache.stats().cacheType !== 'redis') throw new Error('the demo did not reach the bench Redis');
    return await use(demo);
  } finally {
    await demo.close();
  }
}

async function sequence<T>(count: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < count; i++) results.push(await one(i));
  return results;
}

/** One POST /api/playlists, timed by the client, with the upstream calls it caused. */
async function playlist(bench: Bench, demo: Demo, userId: string, moodPrompt: string, expectedSource: string): Promise<RequestSample> {
  const reccobeatsBefore = bench.simulator.requests.total;
  const standInsBefore = demo.upstreamCalls();
  const started = performance.now();
  const response = await fetch(`${demo.url}/api/playlists`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId, moodPrompt }),
  });
  const body = (await response.json()) as { source?: string; tracks?: unknown[]; error?: string };
  const ms = performance.now() - started;
  if (response.status !== 200) throw new Error(`POST /api/playlists answered ${response.status}: ${body.error ?? ''}`);
  const standIns = demo.upstreamCalls();
  return {
    ms,
    source: body.source ?? 'unknown',
    expectedSource,
    tracks: body.tracks?.length ?? 0,
    reccobeatsRequests: bench.simulator.requests.total - reccobeatsBefore,
    moodAnalysisCalls: standIns.moodAnalysis - standInsBefore.moodAnalysis,
    topTracksCalls: standIns.topTracks - standInsBefore.topTracks,
  };
}
