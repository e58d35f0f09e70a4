/**
 * What a Redis hit costs, step by step, in one process: a bare ioredis GET, then the same GET with each step a Redis
 * hit of reprise's takes added in turn, up to reprise's own `get`. Every variant reads the same 1121-byte text (the
 * envelope reprise stores for the bench value) from its own redis-server, one call at a time; the variants take
 * turns, 200 ms each, for `--rounds=N` rounds (default 24), and each gets its median time per call (wall and CPU)
 * and its median ratio to the bare GET of the same round. Sharing one process, they share one ioredis, one JIT and
 * one heap: what differs between two lines is the step between them.
 *
 *   npx tsx bench/redis-hit-steps.ts [--rounds=N]
 */
import { Redis } from 'ioredis';
import { startBenchRedis } from './lib/bench-redis.js';
import { compiledReprise } from './lib/compiled-reprise.js';
import { KEY_COUNT, TTL_SECONDS, benchKey, benchValue } from './lib/payload.js';
import { choosePlacement, pinProcess, placementText } from './lib/placement.js';
import { median } from './lib/stats.js';

const CATEGORY = 'recommendations';
const TURN_MS = 200;
const WARM_UP_ROUNDS = 2;
const rounds = Number(/^--rounds=(\d+)$/.exec(process.argv[2] ?? '')?.[1] ?? 24);
if (process.argv.length > 3 || (process.argv[2] !== undefined && !/^--rounds=\d+$/.test(process.argv[2])) || !(rounds > 0)) {
  console.error('usage: npx tsx bench/redis-hit-steps.ts [--rounds=N]');
  process.exit(2);
}

const reprise = await compiledReprise();
const server = await startBenchRedis();
const placement = choosePlacement();
if (placement) {
  pinProcess(server.pid, placement.serverCpu);
  pinProcess(process.pid, placement.contenderCpu);
}
try {
  const keyPrefix = 'steps:';
  const parts = reprise.createCacheParts({ redisUrl: server.url, keyPrefix, memory: { maxEntries: 1 }, ttls: { [CATEGORY]: TTL_SECONDS }, logger: reprise.silentLogger });
  await reprise.waitForRedis(parts);
  const { cache, gateway } = parts;
  for (let i = 0; i < KEY_COUNT; i++) await cache.set(CATEGORY, benchKey(i), benchValue(i));
  const fullKeys = Array.from({ length: KEY_COUNT }, (_, i) => reprise.categoryPrefix(keyPrefix, CATEGORY) + reprise.encodeKey(benchKey(i)));
  const fullKey = (i: number) => fullKeys[i & (KEY_COUNT - 1)]!;
  const bare = new Redis(server.url);
  const parseJson = (text: string | null) => (text === null ? undefined : JSON.parse(text.slice(text.indexOf(':', 3) + 1)));
  const memory = new reprise.MemoryTier({ maxEntries: 1 });
  const READ = { write: false };

  const steps: Array<[string, (i: number) => Promise<unknown>]> = [
    ['bare ioredis GET', (i) => bare.get(fullKey(i))],
    ['GET + JSON.parse', (i) => bare.get(fullKey(i)).then(parseJson)],
    ["on reprise's connection", (i) => gateway.client!.get(fullKey(i)).then(parseJson)],
    ['through the gateway', (i) => gateway.attemptThen('get', (client) => client.get(fullKey(i)), READ, (read) => (read.ok ? parseJson(read.value) : undefined))],
    ["with reprise's decoding", (i) => gateway.attemptThen('get', (client) => client.get(fullKey(i)), READ, (read) => (read.ok && read.value !== null ? reprise.decodeValue(read.value).value : undefined))],
    [
      'with the memory refill',
      (i) =>
        gateway.attemptThen('get', (client) => client.get(fullKey(i)), READ, (read) => {
          if (!read.ok || read.value === null) return undefined;
          const decoded = reprise.decodeValue(read.value);
          memory.set(fullKey(i), decoded.value, decoded.expiresAt - Date.now(), read.value.length);
          return decoded.value;
        }),
    ],
    ["reprise's get", (i) => cache.get(CATEGORY, benchKey(i))],
  ];

  const wall = steps.map(() => [] as number[]);
  const cpu = steps.map(() => [] as number[]);
  let call = 0;
  for (let round = 0; round < WARM_UP_ROUNDS + rounds; round++) {
    for (const [index, [, run]] of steps.entries()) {
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      let calls = 0;
      while (performance.now() - started < TURN_MS) {
        if ((await run(call++)) === undefined) throw new Error(`${steps[index]![0]}: a read missed`);
        calls += 1;
      }
      const elapsedUs = (performance.now() - started) * 1_000;
      const cpuUsed = process.cpuUsage(cpuBefore);
      if (round < WARM_UP_ROUNDS) continue;
      wall[index]!.push(elapsedUs / calls);
      cpu[index]!.push((cpuUsed.user + cpuUsed.system) / calls);
    }
  }
  const hits = cache.stats().tiers.redis.hits;
  console.log(`Redis hit, step by step: ${rounds} rounds of ${TURN_MS} ms per step; ${placementText(placement)}; reprise's get: ${hits} Redis hits\n`);
  console.log('| step | µs per call | CPU µs per call | of a bare GET, same round |');
  console.log('| --- | --- | --- | --- |');
  for (const [index, [name]] of steps.entries()) {
    const ratio = median(wall[index]!.map((us, round) => us / wall[0]![round]!));
    console.log(`| ${name} | ${median(wall[index]!).toFixed(1)} | ${median(cpu[index]!).toFixed(1)} | ${ratio.toFixed(2)}x |`);
  }
  memory.close();
  await cache.close();
  await bare.quit();
} finally {
  await server.destroy();
}
