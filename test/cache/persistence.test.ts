import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCache } from '../../src/index.js';
import { recordingLogger } from '../harness/logger.js';
import { hasRedisServer, pollUntil, startRedisServer, type RedisServer } from '../harness/redis-servers.js';

describe.skipIf(!hasRedisServer)('persistence with an AOF Redis', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer({ appendOnly: true });
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('keeps values across a new engine instance and a Redis restart', async () => {
    const value = { tracks: ['a', 'b'], computedAt: new Date('2026-11-24T10:00:00Z'), seen: new Set([1, 2]) };
    const first = await createCache({ redisUrl: server.url, logger: recordingLogger() });
    await first.set('popular_mood_cache', 'happy and energetic', value);
    await first.setWorkflowArtifacts({ userId: 'u1', moodPrompt: 'Chill Evening', artifacts: { seeds: ['s1'] } });
    await first.close();

    const second = await createCache({ redisUrl: server.url, logger: recordingLogger() });
    expect(await second.get('popular_mood_cache', 'happy and energetic')).toEqual(value);
    await second.close();

    await server.stop();
    await server.start();
    const third = await createCache({ redisUrl: server.url, logger: recordingLogger() });
    await pollUntil(() => third.stats().cacheType === 'redis', 'the new instance to connect');
    expect(await third.get('popular_mood_cache', 'happy and energetic')).toEqual(value);
    expect(await third.getWorkflowArtifacts({ userId: 'u1', moodPrompt: 'chill evening!' })).toEqual({ seeds: ['s1'] });
    expect(third.stats().tiers.redis.hits).toBe(2);
    await third.close();
  });
});
