/**
 * A short tour of the reprise cache: writes, reads, a getOrSet storm and workflow artifact reuse, then the stats.
 * Uses Redis when REDIS_URL is set (e.g. REDIS_URL=redis://127.0.0.1:6380 npm start), memory otherwise.
 */
import { createCache } from '../src/index.js';
import { redactRedisUrl } from '../src/redis/redact.js';

const redisUrl = process.env.REDIS_URL?.trim();
console.log(redisUrl ? `reprise cache tour: Redis at ${redactRedisUrl(redisUrl)}` : 'reprise cache tour: REDIS_URL is unset, running in memory only');

const cache = await createCache();
const timed = async <T>(label: string, run: () => Promise<T>): Promise<T> => {
  const started = performance.now();
  const result = await run();
  console.log(`  ${label.padEnd(58)} ${(performance.now() - started).toFixed(3).padStart(9)} ms`);
  return result;
};

await timed('set recommendations "happy and energetic"', () =>
  cache.set('recommendations', 'happy and energetic', { tracks: ['4uLU6hMCjMI75M1A2tKUQC'], computedAt: new Date() }),
);
await timed('get it back (memory hit)', () => cache.get('recommendations', 'happy and energetic'));

let factoryCalls = 0;
await timed('1000 concurrent getOrSet on one missing key', () =>
  Promise.all(
    Array.from({ length: 1000 }, () =>
      cache.getOrSet('mood_analysis', 'calm and relaxing', async () => {
        factoryCalls += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return { valence: 0.4, energy: 0.2 };
      }),
    ),
  ),
);
console.log(`  factory calls for those 1000 callers: ${factoryCalls}`);

await cache.setWorkflowArtifacts({ userId: 'demo-user', moodPrompt: 'Happy & Energetic!', artifacts: { seeds: ['s1', 's2'] } });
const reused = await timed('artifacts for the tweaked prompt "happy energetic workout"', () =>
  cache.findWorkflowArtifacts({ userId: 'demo-user', moodPrompt: 'happy energetic workout', similar: true }),
);
console.log(`  reused artifacts of "${reused?.moodPrompt}" (similarity ${reused?.similarity.toFixed(2)})`);

const stats = cache.stats();
console.log(`\nbackend: ${stats.cacheType} (Redis ${stats.tiers.redis.mode}, connection ${stats.tiers.redis.connection})`);
console.log(JSON.stringify({ hits: stats.hits, misses: stats.misses, hitRate: stats.hitRate, coalesced: stats.coalesced, memory: stats.tiers.memory }, null, 2));
await cache.close();
