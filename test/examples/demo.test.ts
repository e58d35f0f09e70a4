/**
 * The demo back end end to end: the playlist route through reprise against the ReccoBeats simulator, the way a
 * newcomer runs it (memory), and with Redis shared by two demo processes' worth of instances.
 */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../../examples/demo/server.js';
import { closeAfterEachTest, useRedisServer } from '../harness/lifecycle.js';
import { hasRedisServer } from '../harness/redis-servers.js';

/** Upstream waits cut to nothing: this test counts calls, it does not time them. */
const FAST = { latencyScale: 0, quiet: true, warmSchedule: false as const, env: {} };

async function playlist(demo: Demo, userId: string, moodPrompt: string) {
  const res = await request(demo.url).post('/api/playlists').send({ userId, moodPrompt });
  expect(res.status).toBe(200);
  return res.body as { source: string; reusedFrom?: string; tracks: unknown[]; reccobeatsRequests: number; cacheType: string };
}

const opened = closeAfterEachTest<Demo>();

describe('the demo in memory mode', () => {
  it('computes a cold playlist, serves the returning user from cache and reuses work for a tweaked prompt', async () => {
    const demo = await startDemo(FAST);
    opened.push(demo);
    const cold = await playlist(demo, 'ada', 'rainy sunday coding');
    expect(cold.source).toBe('computed');
    expect(cold.tracks.length).toBe(20);
    expect(cold.reccobeatsRequests).toBeGreaterThan(5);
    expect(cold.cacheType).toBe('memory');

    const again = await playlist(demo, 'ada', 'Rainy Sunday, coding!');
    expect(again.source).toBe('cached');
    expect(again.reccobeatsRequests).toBe(0);
    expect(again.tracks).toEqual(cold.tracks);

    const tweaked = await playlist(demo, 'ada', 'rainy sunday coding music');
    expect(tweaked).toMatchObject({ source: 'reused-artifacts', reusedFrom: 'rainy sunday coding', reccobeatsRequests: 0 });
  });

  it('serves a popular mood precomputed after a warm run started through the admin route', async () => {
    const demo = await startDemo({ ...FAST, adminToken: 'demo-test-admin-token-42' });
    opened.push(demo);
    const admin = `${demo.url}/api/agents/system`;
    const started = await request(admin).post('/cache/warm-popular-moods').set('Authorization', `Bearer ${demo.adminToken}`).send({ moods: ['party vibes'] });
    expect(started.status).toBe(202);
    await expect.poll(async () => (await request(admin).get('/cache/warm-popular-moods').set('Authorization', `Bearer ${demo.adminToken}`)).body.status).toBe('succeeded');

    const party = await playlist(demo, 'linus', 'Party Vibes!!');
    expect(party).toMatchObject({ source: 'precomputed', reccobeatsRequests: 0 });
    expect(party.tracks.length).toBe(20);

    const metrics = await request(demo.url).get('/metrics');
    expect(metrics.text).toMatch(/reprise_warm_runs_total\{status="succeeded"\} 1/);
    expect(metrics.text).toMatch(/reprise_upstream_calls_avoided_total/);
  });

  it('answers 400 to a request without userId or moodPrompt', async () => {
    const demo = await startDemo(FAST);
    opened.push(demo);
    expect((await request(demo.url).post('/api/playlists').send({ userId: 'x' })).status).toBe(400);
    expect((await request(demo.url).post('/api/playlists').send({ userId: 'x', moodPrompt: '?!' })).status).toBe(400);
  });

  it('answers malformed JSON with 400, on the playlist route and on the admin routes, never 502', async () => {
    const demo = await startDemo({ ...FAST, adminToken: 'demo-test-admin-token-42' });
    opened.push(demo);
    const playlist = await request(demo.url).post('/api/playlists').set('Content-Type', 'application/json').send('{"userId":');
    expect(playlist.status).toBe(400);
    const warm = await request(`${demo.url}/api/agents/system`)
      .post('/cache/warm-popular-moods')
      .set('Authorization', `Bearer ${demo.adminToken}`)
      .set('Content-Type', 'application/json')
      .send('{"moods": [');
    expect(warm.status).toBe(400);
    expect(warm.body.error).toEqual(expect.any(String));
  });
});

describe.skipIf(!hasRedisServer)('the demo on Redis', () => {
  const server = useRedisServer();

  it('shares the work between two instances: the second one makes no upstream request for a known user and mood', async () => {
    const first = await startDemo({ ...FAST, redisUrl: server().url });
    opened.push(first);
    const cold = await playlist(first, 'ada', 'late night coding');
    expect(cold.cacheType).toBe('redis');
    expect(cold.reccobeatsRequests).toBeGreaterThan(0);

    const second = await startDemo({ ...FAST, redisUrl: server().url, reccobeatsBaseUrl: first.simulator!.url });
    opened.push(second);
    const before = first.simulator!.requests.total;
    const warm = await playlist(second, 'ada', 'late night coding');
    expect(warm.source).toBe('cached');
    expect(warm.tracks).toEqual(cold.tracks);
    expect(first.simulator!.requests.total).toBe(before);
  });
});
