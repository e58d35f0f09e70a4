/**
 * One host process of `bench:load`: a small Express app over a reprise cache on the bench's Redis. Every
 * `GET /item/:key` is a read-through of the 'recommendations' category whose factory stands for an expensive
 * computation (a timer of `computeMs`) and is counted per key. `POST /bench/snapshot` answers those counts, the
 * cache's stats and the worst event-loop stall since the previous snapshot. Started by bench/lib/load-hosts.ts with
 * its settings in LOAD_HOST_CONFIG; tells its port over IPC and exits when the bench goes away.
 */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as pause } from 'node:timers/promises';
import { createCacheParts, waitForRedis } from '../../src/cache/create-cache.js';
import type { Logger, SetOptions } from '../../src/index.js';
import { HOST_CONFIG_VARIABLE, type HostConfig, type HostMessage, type HostSnapshot } from './load-protocol.js';

const config = JSON.parse(process.env[HOST_CONFIG_VARIABLE] ?? 'null') as HostConfig | null;
if (!config) throw new Error(`${HOST_CONFIG_VARIABLE} is not set: this file is started by bench/load.ts`);

/** Log lines by message (first 160 characters), so a flood of one warning stays one entry. */
const logged = new Map<string, number>();
/** The latest log lines with when they came (epoch ms), so the bench can place them in its scenario's timeline. */
const recent: { at: number; line: string }[] = [];
const note = (level: string) => (message: string) => {
  const line = `${level}: ${message.slice(0, 160)}`;
  if (logged.has(line) || logged.size < 50) logged.set(line, (logged.get(line) ?? 0) + 1);
  recent.push({ at: Date.now(), line });
  if (recent.length > 200) recent.shift();
};
const logger: Logger = { debug() {}, info() {}, warn: note('warn'), error: note('error') };

// createCache, kept in its parts so the host can tell the bench what its Redis connection really does.
const parts = createCacheParts({
  redisUrl: config.redisUrl,
  keyPrefix: config.keyPrefix,
  logger,
  memory: { maxEntries: config.memoryEntries },
  ...(config.autoPipelining === undefined ? {} : { redisAutoPipelining: config.autoPipelining }),
});
await waitForRedis(parts);
const cache = parts.cache;
const autoPipelining = Boolean(parts.gateway.client?.options.enableAutoPipelining);

/** Factory calls per key: the bench adds them up across hosts. */
const computed = new Map<string, number>();
/** Every key asked for: the bench counts distinct keys over the union of the hosts' sets. */
const requested = new Set<string>();
let factoryCalls = 0;
const readOptions = (config.acrossWorkers ? { acrossWorkers: true } : {}) as SetOptions;

async function compute(key: string): Promise<{ key: string; tracks: string[]; computedAt: Date }> {
  factoryCalls += 1;
  computed.set(key, (computed.get(key) ?? 0) + 1);
  await pause(config!.computeMs);
  return { key, tracks: Array.from({ length: 10 }, (_, i) => `track-${key}-${i}`), computedAt: new Date() };
}

/**
 * Circuit openings, seen by sampling the breaker every 10 ms: the fallback when the engine's stats do not count
 * them (an open circuit lasts at least its pause, 1 s by default, so a sample cannot miss one).
 */
let sampledOpenings = 0;
let lastBreaker = 'closed';
const sampler = setInterval(() => {
  const breaker = String(cache.stats().tiers.redis.breaker);
  if (breaker === 'open' && lastBreaker !== 'open') sampledOpenings += 1;
  lastBreaker = breaker;
}, 10);

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

const app = express();
app.disable('x-powered-by');
app.disable('etag');

app.get('/item/:key', (req, res) => {
  const key = req.params.key;
  requested.add(key);
  cache
    .getOrSet('recommendations', key, () => compute(key), readOptions)
    .then((value) => {
      // A value that is not this key's is a wrong answer: count it as a failed request.
      if ((value as { key?: unknown } | null)?.key !== key) res.status(500).json({ error: 'wrong value', key });
      else res.json(value);
    })
    .catch((error: unknown) => res.status(500).json({ error: error instanceof Error ? error.message : String(error) }));
});

app.post('/bench/snapshot', (req, res) => {
  const prefix = typeof req.query.prefix === 'string' ? req.query.prefix : '';
  const since = Number(req.query.since ?? Number.POSITIVE_INFINITY);
  const perKey: Record<string, number> = {};
  for (const [key, count] of computed) if (key.startsWith(prefix)) perKey[key] = count;
  const keys = prefix ? [...requested].filter((key) => key.startsWith(prefix)) : [];
  const snapshot: HostSnapshot = {
    pid: process.pid,
    factoryCalls,
    perKey,
    requested: keys,
    stats: cache.stats() as unknown as HostSnapshot['stats'],
    sampledOpenings,
    loopMaxMs: loopDelay.max / 1e6,
    logged: Object.fromEntries(logged),
    log: recent.filter((entry) => entry.at >= since),
  };
  loopDelay.reset();
  res.json(snapshot);
});

const server = app.listen(0, '127.0.0.1', () => {
  const message: HostMessage = { type: 'listening', port: (server.address() as AddressInfo).port, autoPipelining };
  process.send?.(message);
});
server.keepAliveTimeout = 30_000;

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  clearInterval(sampler);
  loopDelay.disable();
  server.closeAllConnections();
  server.close();
  // A Redis that is stopped could hold close() up: the process ends regardless.
  const forced = setTimeout(() => process.exit(0), 3_000);
  forced.unref();
  await cache.close().catch(() => undefined);
  process.exit(0);
}
process.on('disconnect', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
process.on('message', (message: { type?: string }) => {
  if (message?.type === 'close') void shutdown();
});
