/**
 * `npm run bench:load`: N host processes (Express + reprise, bench/lib/load-host.ts) on one Redis, driven over HTTP
 * by autocannon through healthy and saturated load, then with Redis killed and restarted, stopped (SIGSTOP) for 2 s,
 * full (maxmemory, noeviction) and holding wrong-type values under hot keys. Checks the SPEC bars: healthy and
 * saturated give no command timeout, no circuit opening and about one computation per distinct key; no scenario
 * fails a request. Starts its own redis-server on a free loopback port; writes bench/results/load.json and .md;
 * exits 1 when a bar is missed.
 *
 * `--auto-pipelining=on|off` sets reprise's `redisAutoPipelining` in the hosts (default: reprise's default);
 * `--auto-pipelining=both` starts one group of hosts with it off and one with it on, each with its own key prefix,
 * and runs each scenario (healthy and saturated unless `--only` says otherwise) under the two settings back to back,
 * `--pairs` times, alternating which goes first, then reports them side by side (bench/results/load-auto-pipelining.*).
 */
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { setTimeout as pause } from 'node:timers/promises';
import { createCache, silentLogger, type RepriseCache } from '../src/index.js';
import { categoryPrefix, encodeKey } from '../src/cache/keys.js';
import { pollUntil, type RedisServer } from '../test/harness/redis-servers.js';
import { emptyBenchRedis, startBenchRedis } from './lib/bench-redis.js';
import { LoadHosts } from './lib/load-hosts.js';
import { comparePipelining, loadMarkdown, summarizeScenario, type HttpOutcome, type LoadContext, type ScenarioResult } from './lib/load-report.js';
import { drawKey, parseLoadSettings, scenarioKey, STOP_MS, type PipeliningSetting, type Scenario } from './lib/load-settings.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { writeResults } from './lib/results.js';

const settings = parseLoadSettings(process.argv.slice(2));
/** reprise's key prefix for the hosts; with two groups each has its own (keys and invalidation channel apart). */
const KEY_PREFIX = 'load:';
const comparing = settings.pipeliningSettings.length > 1;
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

/** Host processes sharing one auto-pipelining setting, and the bench's own cache under their key prefix. */
interface HostGroup {
  setting: PipeliningSetting;
  keyPrefix: string;
  hosts: LoadHosts;
  urls: string[];
  /** What the hosts' Redis connections do, as they read it from their client once started. */
  autoPipelining: 'on' | 'off';
  /** Deletes through reprise (the wrong-type scenario), so the group's hosts drop their memory copies. */
  cache: RepriseCache | null;
}

/** One run of a scenario on one group; `tag` gives its keys a namespace of their own when scenarios repeat. */
interface Run {
  scenario: Scenario;
  group: HostGroup;
  tag: string;
  pair?: number;
}

/** The key as Redis holds it (the engine's layout, so a planted LIST sits exactly where a GET will look). */
const redisKey = (keyPrefix: string, key: string) => categoryPrefix(keyPrefix, CATEGORY) + encodeKey(key);

function since(started: number): string {
  return `${Math.round(performance.now() - started)} ms`;
}

/** Load over HTTP: one autocannon instance per host, its share of the connections each, results merged. */
async function drive(scenario: Pick<Scenario, 'connections' | 'pipelining'>, key: (index: number) => string, durationMs: number, hostUrls: string[]): Promise<HttpOutcome> {
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
        setupRequest: (request) => ({ ...request, path: `/item/${key(drawKey(settings))}` }),
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
async function fault(run: Run, server: RedisServer, admin: Redis, events: string[], started: number, stop: { done: boolean }): Promise<void> {
  const { scenario, group } = run;
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
          const key = scenarioKey('wrongtype', i, run.tag);
          await group.cache!.delete(CATEGORY, key);
          await admin.multi().del(redisKey(group.keyPrefix, key)).rpush(redisKey(group.keyPrefix, key), 'not', 'a', 'string').exec();
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

console.log(`bench:load on ${machineLine(machine)}: ${settings.workers} hosts${comparing ? ' per auto-pipelining setting' : ''}, ${settings.durationMs / 1_000} s per scenario, acrossWorkers ${settings.acrossWorkers ? 'on' : 'off'}`);
const server = await startBenchRedis();
const admin = new Redis(server.url, { maxRetriesPerRequest: 1, lazyConnect: true });
admin.on('error', () => undefined);
const groups: HostGroup[] = settings.pipeliningSettings.map((setting) => {
  const keyPrefix = comparing ? `load-${setting}:` : KEY_PREFIX;
  return {
    setting,
    keyPrefix,
    hosts: new LoadHosts(settings.workers, {
      redisUrl: server.url,
      keyPrefix,
      acrossWorkers: settings.acrossWorkers,
      computeMs: settings.computeMs,
      memoryEntries: settings.memoryEntries,
      ...(setting === 'default' ? {} : { autoPipelining: setting === 'on' }),
    }),
    urls: [],
    autoPipelining: 'off',
    cache: null,
  };
});
const results: ScenarioResult[] = [];
let originalPolicy = 'noeviction';

/** Stops the hosts, the bench's connections and its redis-server; once, whether the run ended, failed or was interrupted. */
let cleaning: Promise<void> | null = null;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    server.resume();
    await Promise.all(groups.map((group) => group.hosts.close()));
    await Promise.all(groups.map((group) => group.cache?.close().catch(() => undefined)));
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
    const snapshots = (await Promise.all(groups.map((group) => group.hosts.snapshot('')))).flat();
    return snapshots.every((snapshot) => snapshot.stats.cacheType === 'redis' && snapshot.stats.tiers.redis.breaker === 'closed');
  }, 'every host to be back on Redis with its circuit closed', () => false, 60_000);
}

try {
  await admin.connect();
  originalPolicy = String(((await admin.config('GET', 'maxmemory-policy')) as string[])[1] ?? 'noeviction');
  // Every group is up before any load, so both settings run the same code on the same Redis.
  for (const group of groups) {
    const started = await group.hosts.start();
    group.urls = started.map((host) => host.url);
    const modes = new Set(started.map((host) => (host.autoPipelining ? 'on' : 'off')));
    if (modes.size !== 1) throw new Error(`hosts of one group disagree on auto-pipelining: ${[...modes].join(', ')}`);
    group.autoPipelining = [...modes][0] as 'on' | 'off';
    if (group.setting !== 'default' && group.setting !== group.autoPipelining) {
      throw new Error(`hosts asked for auto-pipelining ${group.setting} run with it ${group.autoPipelining}: redisAutoPipelining did not reach the connection`);
    }
    group.cache = await createCache({ redisUrl: server.url, keyPrefix: group.keyPrefix, logger: silentLogger });
  }
  context.autoPipelining = comparing
    ? `off and on, ${groups.length} groups of ${settings.workers} hosts, each scenario run ${settings.pairs} time(s) under each setting, back to back, alternating which goes first`
    : `${groups[0]!.autoPipelining}${groups[0]!.setting === 'default' ? " (reprise's default)" : ''}`;
  console.log(`auto-pipelining: ${context.autoPipelining}`);

  // A short warm-up of every group so the first scenario does not measure the hosts' JIT.
  for (const group of groups) {
    await prepare();
    await drive({ connections: 20, pipelining: 1 }, (index) => scenarioKey('warmup', index, group.setting), 1_000, group.urls);
  }

  const runs: Run[] = [];
  for (let pair = 1; pair <= settings.pairs; pair++) {
    for (const scenario of settings.scenarios) {
      // Odd pairs run the first group first, even pairs the other: neither setting always follows the other.
      const order = pair % 2 === 1 ? groups : [...groups].reverse();
      for (const group of order) {
        runs.push(comparing ? { scenario, group, tag: `${group.setting}${pair}`, pair } : { scenario, group, tag: '' });
      }
    }
  }

  for (const run of runs) {
    const { scenario, group } = run;
    await prepare();
    const prefix = run.tag ? `${scenario.name}-${run.tag}-` : `${scenario.name}-`;
    const events: string[] = [];
    if (scenario.name === 'full') {
      const limit = (await usedMemory(admin)) + FULL_HEADROOM_BYTES;
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', String(limit));
      events.push(`maxmemory ${limit} bytes (used + ${FULL_HEADROOM_BYTES / 1024} KiB), noeviction, before the load`);
    }
    const before = await group.hosts.snapshot(prefix);
    const stop = { done: false };
    const began = performance.now();
    const startedAt = Date.now();
    const faulting = fault(run, server, admin, events, began, stop);
    let http: HttpOutcome;
    try {
      http = await drive(scenario, (index) => scenarioKey(scenario.name, index, run.tag), settings.durationMs, group.urls);
    } finally {
      stop.done = true;
      await faulting;
    }
    if (scenario.name === 'full') events.push(`used_memory ${await usedMemory(admin)} bytes at the end`);
    const after = await group.hosts.snapshot(prefix, startedAt);
    const result = summarizeScenario({
      scenario,
      http,
      before,
      after,
      startedAt,
      hotKeys: settings.hotKeys,
      events,
      autoPipelining: group.autoPipelining,
      ...(run.pair === undefined ? {} : { pair: run.pair }),
    });
    results.push(result);
    console.log(`${result.label}: ${result.requests} requests (${Math.round(result.requestsPerSecond)}/s, p99 ${result.p99Ms} ms), ${result.failed} failed, ${result.redis.timeouts} command timeouts, ${result.redis.circuitOpenings} circuit openings, ${result.computationsPerKey.toFixed(2)} computations per key`);
    for (const event of events) console.log(`  bench: ${event}`);
    for (const entry of result.log) console.log(`  +${entry.atMs} ms host ${entry.host} ${entry.line}`);
  }
} finally {
  await cleanUp();
}

const markdown = loadMarkdown(results, context);
console.log(`\n${markdown}`);
const comparison = comparePipelining(results);
// A comparison goes to a file of its own, so it never replaces the full run of every scenario in load.md.
const written = comparing
  ? writeResults('load-auto-pipelining', 'reprise under load: auto-pipelining off and on', machine, settings.command, { context, scenarios: results, autoPipelining: comparison }, markdown)
  : writeResults('load', 'reprise under load: several host processes on one Redis', machine, settings.command, { context, scenarios: results }, markdown);
console.error(`wrote ${written.markdown} and ${written.json}`);
process.exitCode = results.every((result) => result.pass) ? 0 : 1;
