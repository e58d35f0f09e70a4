/**
 * `npm run bench:load`: N host processes (Express + reprise, bench/lib/load-host.ts) on one Redis, driven over HTTP
 * by autocannon through healthy and saturated load, then with Redis killed and restarted, stopped (SIGSTOP) for 2 s,
 * full (maxmemory, noeviction) and holding wrong-type values under hot keys. Checks the SPEC bars: healthy and
 * saturated give no command timeout, no circuit opening and about one computation per distinct key; no scenario
 * fails a request. Starts its own redis-server on a free loopback port; writes bench/results/load.json and .md;
 * exits 1 when a bar is missed.
 */
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { setTimeout as pause } from 'node:timers/promises';
import { createCache, silentLogger, type RepriseCache } from '../src/index.js';
import { categoryPrefix, encodeKey } from '../src/cache/keys.js';
import { pollUntil, type RedisServer } from '../test/harness/redis-servers.js';
import { emptyBenchRedis, startBenchRedis } from './lib/bench-redis.js';
import { LoadHosts } from './lib/load-hosts.js';
import { loadMarkdown, summarizeScenario, type HttpOutcome, type LoadContext, type ScenarioResult } from './lib/load-report.js';
import { drawKey, parseLoadSettings, scenarioKey, STOP_MS, type Scenario, type ScenarioName } from './lib/load-settings.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { writeResults } from './lib/results.js';

const settings = parseLoadSettings(process.argv.slice(2));
const KEY_PREFIX = 'load:';
const CATEGORY = 'recommendations';
/** Hot keys that hold a LIST in the wrong-type scenario, planted again every WRONGTYPE_EVERY_MS. */
const WRONGTYPE_KEYS = 3;
const WRONGTYPE_EVERY_MS = 500;
/** Room left above the memory Redis uses when the full scenario starts: a few hundred entries, then OOM. */
const FULL_HEADROOM_BYTES = 64 * 1024;

const machine = describeMachine();
const context: LoadContext = {
  workers: settings.workers,
  acrossWorkers: settings.acrossWorkers,
  durationMs: settings.durationMs,
  keys: settings.keys,
  hotKeys: settings.hotKeys,
  hotShare: settings.hotShare,
  computeMs: settings.computeMs,
  memoryEntries: settings.memoryEntries,
};

/** The key as Redis holds it (the engine's layout, so a planted LIST sits exactly where a GET will look). */
const redisKey = (key: string) => categoryPrefix(KEY_PREFIX, CATEGORY) + encodeKey(key);

function since(started: number): string {
  return `${Math.round(performance.now() - started)} ms`;
}

/** Load over HTTP: one autocannon instance per host, its share of the connections each, results merged. */
async function drive(scenario: Scenario | { name: ScenarioName | 'warmup'; connections: number; pipelining: number }, durationMs: number, hostUrls: string[]): Promise<HttpOutcome> {
  const connections = Math.max(1, Math.round(scenario.connections / hostUrls.length));
  const runs = hostUrls.map((url) =>
    autocannon({
      url,
      connections,
      pipelining: scenario.pipelining,
      duration: durationMs / 1_000,
      timeout: 10,
      skipAggregateResult: true,
      requests: [{
        method: 'GET',
        path: '/item/0',
        setupRequest: (request) => ({ ...request, path: `/item/${scenarioKey(scenario.name as ScenarioName, drawKey(settings))}` }),
      }],
    }),
  );
  const results = await Promise.all(runs);
  // aggregateResult merges the latency histograms of instances run with skipAggregateResult (not in the types).
  const aggregate = (autocannon as unknown as { aggregateResult(results: unknown[], opts: object): autocannon.Result }).aggregateResult;
  const merged = aggregate(results, { url: hostUrls[0]!, connections: connections * hostUrls.length, pipelining: scenario.pipelining });
  return {
    connections: connections * hostUrls.length,
    requests: (merged.latency as { totalCount?: number }).totalCount ?? results.reduce((sum, r) => sum + r.requests.total, 0),
    durationS: Math.max(...results.map((r) => r.duration)),
    non2xx: merged.non2xx,
    errors: merged.errors,
    timeouts: merged.timeouts,
    p50Ms: merged.latency.p50,
    p99Ms: merged.latency.p99,
    maxMs: merged.latency.max,
  };
}

/** What each fault scenario does to Redis while the load runs; resolves when it is done. */
async function fault(scenario: Scenario, server: RedisServer, admin: Redis, benchCache: RepriseCache, events: string[], started: number, stop: { done: boolean }): Promise<void> {
  const at = (share: number) => pause(Math.max(0, started + settings.durationMs * share - performance.now()));
  switch (scenario.name) {
    case 'killed': {
      await at(0.3);
      await server.kill();
      events.push(`SIGKILL at ${since(started)}`);
      await pause(Math.min(2_500, settings.durationMs * 0.25));
      await server.start();
      events.push(`restarted (empty) at ${since(started)}`);
      return;
    }
    case 'stopped': {
      await at(0.3);
      server.pause();
      events.push(`SIGSTOP at ${since(started)}`);
      await pause(STOP_MS);
      server.resume();
      events.push(`SIGCONT at ${since(started)}`);
      return;
    }
    case 'wrongtype': {
      // Each round: drop the hosts' memory copies (a delete through reprise announces it), then a LIST in its place.
      let rounds = 0;
      while (!stop.done) {
        for (let i = 0; i < WRONGTYPE_KEYS; i++) {
          const key = scenarioKey('wrongtype', i);
          await benchCache.delete(CATEGORY, key);
          await admin.multi().del(redisKey(key)).rpush(redisKey(key), 'not', 'a', 'string').exec();
        }
        rounds += 1;
        await pause(WRONGTYPE_EVERY_MS);
      }
      events.push(`${WRONGTYPE_KEYS} of the hot keys made LISTs ${rounds} times, every ${WRONGTYPE_EVERY_MS} ms`);
      return;
    }
    default:
      return;
  }
}

async function usedMemory(admin: Redis): Promise<number> {
  const info = await admin.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

console.log(`bench:load on ${machineLine(machine)}: ${settings.workers} hosts, ${settings.durationMs / 1_000} s per scenario, acrossWorkers ${settings.acrossWorkers ? 'on' : 'off'}`);
const server = await startBenchRedis();
const admin = new Redis(server.url, { maxRetriesPerRequest: 1, lazyConnect: true });
admin.on('error', () => undefined);
const hosts = new LoadHosts(settings.workers, {
  redisUrl: server.url,
  keyPrefix: KEY_PREFIX,
  acrossWorkers: settings.acrossWorkers,
  computeMs: settings.computeMs,
  memoryEntries: settings.memoryEntries,
});
let benchCache: RepriseCache | null = null;
const results: ScenarioResult[] = [];
let originalPolicy = 'noeviction';

/** Stops the hosts, the bench's connections and its redis-server; once, whether the run ended, failed or was interrupted. */
let cleaning: Promise<void> | null = null;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    server.resume();
    await hosts.close();
    await benchCache?.close().catch(() => undefined);
    admin.disconnect();
    await server.destroy();
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`${signal}: stopping the hosts and the bench Redis`);
    void cleanUp().finally(() => process.exit(130));
  });
}

/** Redis running, empty, writable, and every host back on it with its circuit closed. */
async function prepare(): Promise<void> {
  server.resume();
  if (!server.running) await server.start();
  await admin.config('SET', 'maxmemory', '0');
  await admin.config('SET', 'maxmemory-policy', originalPolicy);
  emptyBenchRedis(server);
  await pollUntil(async () => {
    const snapshots = await hosts.snapshot('');
    return snapshots.every((snapshot) => snapshot.stats.cacheType === 'redis' && snapshot.stats.tiers.redis.breaker === 'closed');
  }, 'every host to be back on Redis with its circuit closed', () => false, 60_000);
}

try {
  await admin.connect();
  originalPolicy = String(((await admin.config('GET', 'maxmemory-policy')) as string[])[1] ?? 'noeviction');
  const started = await hosts.start();
  const hostUrls = started.map((host) => host.url);
  benchCache = await createCache({ redisUrl: server.url, keyPrefix: KEY_PREFIX, logger: silentLogger });

  // A short warm-up so the first scenario does not measure the hosts' JIT.
  await prepare();
  await drive({ name: 'warmup', connections: 20, pipelining: 1 }, 1_000, hostUrls);

  for (const scenario of settings.scenarios) {
    await prepare();
    const prefix = `${scenario.name}-`;
    const events: string[] = [];
    if (scenario.name === 'full') {
      const limit = (await usedMemory(admin)) + FULL_HEADROOM_BYTES;
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', String(limit));
      events.push(`maxmemory ${limit} bytes (used + ${FULL_HEADROOM_BYTES / 1024} KiB), noeviction, before the load`);
    }
    const before = await hosts.snapshot(prefix);
    const stop = { done: false };
    const began = performance.now();
    const startedAt = Date.now();
    const faulting = fault(scenario, server, admin, benchCache, events, began, stop);
    let http: HttpOutcome;
    try {
      http = await drive(scenario, settings.durationMs, hostUrls);
    } finally {
      stop.done = true;
      await faulting;
    }
    if (scenario.name === 'full') events.push(`used_memory ${await usedMemory(admin)} bytes at the end`);
    const after = await hosts.snapshot(prefix, startedAt);
    const result = summarizeScenario({ scenario, http, before, after, startedAt, hotKeys: settings.hotKeys, events });
    results.push(result);
    console.log(`${scenario.label}: ${result.requests} requests, ${result.failed} failed, ${result.redis.timeouts} command timeouts, ${result.redis.circuitOpenings} circuit openings, ${result.computationsPerKey.toFixed(2)} computations per key`);
    for (const event of events) console.log(`  bench: ${event}`);
    for (const entry of result.log) console.log(`  +${entry.atMs} ms host ${entry.host} ${entry.line}`);
  }
} finally {
  await cleanUp();
}

const markdown = loadMarkdown(results, context);
console.log(`\n${markdown}`);
const written = writeResults('load', 'reprise under load: several host processes on one Redis', machine, settings.command, { context, scenarios: results }, markdown);
console.error(`wrote ${written.markdown} and ${written.json}`);
process.exitCode = results.every((result) => result.pass) ? 0 : 1;
