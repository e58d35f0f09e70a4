/**
 * The admin routes of SPEC through a real host app: reprise.router mounted under a prefix next to the host's own
 * routes, on Express 5 and Express 4, with the real engine behind it (memory mode), and two workers sharing a real
 * Redis for what only shows across workers.
 */
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createReprise, type Reprise } from '../../src/reprise.js';
import { CACHE_CATEGORIES } from '../../src/cache/categories.js';
import { EXPRESS_VERSIONS } from '../harness/express-versions.js';
import { recordingLogger } from '../harness/logger.js';
import { sample } from '../harness/prometheus.js';
import express5 from 'express';
import { closeAfterEachTest, useRedisServer } from '../harness/lifecycle.js';
import { hasRedisServer } from '../harness/redis-servers.js';

const TOKEN = 'router-test-admin-token-0123';
const PREFIX = '/api/agents/system';

/** A compute the test releases when it wants: no sleeps, no timing. */
function deferredCompute() {
  const pending: Array<() => void> = [];
  let calls = 0;
  return {
    get calls() { return calls; },
    releaseAll() { for (const release of pending.splice(0)) release(); },
    get waiting() { return pending.length; },
    compute: async (moodPrompt: string) => {
      calls += 1;
      await new Promise<void>((resolve) => pending.push(resolve));
      return { recommendations: [{ title: `song for ${moodPrompt}` }], moodAnalysis: { mood: moodPrompt } };
    },
  };
}

describe.each(EXPRESS_VERSIONS)('admin routes on $name', ({ express }) => {
  const opened: Reprise[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((reprise) => reprise.close()));
  });

  async function host(options: Parameters<typeof createReprise>[0] = {}) {
    const reprise = await createReprise({ adminToken: TOKEN, warmSchedule: false, logger: recordingLogger(), env: {}, express, ...options });
    opened.push(reprise);
    const app = express();
    app.get('/api/health', (_req, res) => { res.json({ ok: true }); });
    // A host route under the router's mount path answers when registered before the router (after it, the router's
    // JSON 404 for unknown paths answers first).
    app.get(`${PREFIX}/host-route`, (_req, res) => { res.json({ host: true }); });
    app.use(PREFIX, reprise.router);
    app.get('/metrics', reprise.metricsHandler);
    app.get(`${PREFIX}/after-router`, (_req, res) => { res.json({ host: true }); });
    return { reprise, app };
  }
  const auth = { Authorization: `Bearer ${TOKEN}` };

  it('GET /cache/stats shows the real figures of the engine', async () => {
    const { reprise, app } = await host();
    await reprise.cache.set('recommendations', 'calm', [1]);
    await reprise.cache.get('recommendations', 'calm');
    await reprise.cache.get('recommendations', 'absent');
    const res = await request(app).get(`${PREFIX}/cache/stats`).set(auth);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ cacheType: 'memory', hits: 1, misses: 1, hitRate: 0.5 });
    expect(res.body.categories.recommendations).toMatchObject({ hits: 1, misses: 1 });
    // Each tier's own figures: what memory holds and how Redis did (none here).
    expect(res.body.tiers.memory).toMatchObject({ hits: 1, entries: 1, maxEntries: expect.any(Number) });
    expect(res.body.tiers.memory.bytes).toBeGreaterThan(0);
    expect(res.body.tiers.redis).toMatchObject({ hits: 0, errors: 0 });
    expect(res.body.popularMoods).toMatchObject({ total: 10, cached: 0, coverage: 0 });
    expect(res.body.idRegistry).toMatchObject({ validated: 0, missing: 0 });
    expect(res.body.features).toMatchObject({ redis: false, warming: false });
    // The host's own routes outside the mount path, and before it under it, still answer.
    expect((await request(app).get('/api/health')).body).toEqual({ ok: true });
    expect((await request(app).get('/metrics')).status).toBe(200);
    expect((await request(app).get(`${PREFIX}/host-route`).set(auth)).body).toEqual({ host: true });
    const shadowed = await request(app).get(`${PREFIX}/after-router`).set(auth);
    expect([shadowed.status, shadowed.body.error]).toEqual([404, 'no admin route at this path']);
  });

  it('POST /cache/invalidate removes a category or everything, and names the valid categories for an unknown one', async () => {
    const { reprise, app } = await host();
    await reprise.cache.set('recommendations', 'a', 1);
    await reprise.cache.set('recommendations', 'b', 2);
    await reprise.cache.set('top_tracks', 'u', [3]);

    const one = await request(app).post(`${PREFIX}/cache/invalidate?category=recommendations`).set(auth);
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ category: 'recommendations', invalidated: 2 });
    expect(await reprise.cache.get('recommendations', 'a')).toBeUndefined();
    expect(await reprise.cache.get('top_tracks', 'u')).toEqual([3]);

    const unknown = await request(app).post(`${PREFIX}/cache/invalidate?category=everything`).set(auth);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatch(/unknown cache category/);
    expect(unknown.body.validCategories).toEqual([...CACHE_CATEGORIES]);
    const twice = await request(app).post(`${PREFIX}/cache/invalidate?category=a&category=b`).set(auth);
    expect(twice.status).toBe(400);

    const all = await request(app).post(`${PREFIX}/cache/invalidate`).set(auth);
    expect(all.body).toEqual({ category: 'all', invalidated: 1 });
    expect(await reprise.cache.get('top_tracks', 'u')).toBeUndefined();
  });

  it('fails closed: no token 401, a wrong one 403; without any auth configured GETs answer and POSTs are 403', async () => {
    const { app } = await host();
    expect((await request(app).post(`${PREFIX}/cache/invalidate`)).status).toBe(401);
    expect((await request(app).get(`${PREFIX}/cache/stats`).set('Authorization', 'Bearer not-the-token-at-all')).status).toBe(403);

    const open = await host({ adminToken: undefined });
    expect((await request(open.app).get(`${PREFIX}/cache/stats`)).status).toBe(200);
    const refused = await request(open.app).post(`${PREFIX}/cache/invalidate`);
    expect(refused.status).toBe(403);
    expect(refused.body.hint).toMatch(/REPRISE_ADMIN_TOKEN/);
    expect(await open.reprise.cache.invalidate()).toBe(0);
  });

  it('answers JSON errors: 413 for a body over the limit, 400 for malformed JSON or a bad warm request', async () => {
    const { app } = await host({ computeRecommendations: async () => ({ recommendations: [] }) });
    const big = await request(app).post(`${PREFIX}/cache/warm-popular-moods`).set(auth).set('content-type', 'application/json')
      .send(JSON.stringify({ moods: ['x'.repeat(20_000)] }));
    expect(big.status).toBe(413);
    expect(big.body.error).toMatch(/too large/);
    const malformed = await request(app).post(`${PREFIX}/cache/warm-popular-moods`).set(auth).set('content-type', 'application/json').send('{"moods": [');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatch(/malformed JSON/);
    const wrongShape = await request(app).post(`${PREFIX}/cache/warm-popular-moods`).set(auth).send({ moods: 'happy', force: 'yes' });
    expect(wrongShape.status).toBe(400);
    const wordless = await request(app).post(`${PREFIX}/cache/warm-popular-moods`).set(auth).send({ moods: ['calm', '!!!'] });
    expect(wordless.status).toBe(400);
    expect(wordless.body.error).toMatch(/no words/);
    const unknownField = await request(app).post(`${PREFIX}/cache/warm-popular-moods`).set(auth).send({ mood: ['happy'] });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.allowedFields).toEqual(['moods', 'force']);
  });

  it('POST /cache/warm-popular-moods answers 202 with the job, 409 while it runs, and GET shows its progress', async () => {
    const control = deferredCompute();
    const { app } = await host({ computeRecommendations: control.compute, popularMoods: ['calm', 'party vibes'] });
    const idle = await request(app).get(`${PREFIX}/cache/warm-popular-moods`).set(auth);
    expect(idle.status).toBe(200);

    const started = await request(app).post(`${PREFIX}/cache/warm-popular-moods`).set(auth).send({});
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ jobId: expect.any(String), moods: ['calm', 'party vibes'] });
    const jobId = started.body.jobId as string;

    const refused = await request(app).post(`${PREFIX}/cache/warm-popular-moods`).set(auth).send({ force: true });
    expect(refused.status).toBe(409);
    expect(refused.body.runningJobId).toBe(jobId);

    // Both moods compute at once (default concurrency 2) and wait for the test to release them.
    await expect.poll(() => control.waiting).toBe(2);
    const running = await request(app).get(`${PREFIX}/cache/warm-popular-moods`).set(auth);
    expect(running.body).toMatchObject({ jobId, status: 'running', total: 2, done: 0, failed: 0 });

    control.releaseAll();
    await expect.poll(async () => (await request(app).get(`${PREFIX}/cache/warm-popular-moods`).set(auth)).body.status).not.toBe('running');
    const finished = await request(app).get(`${PREFIX}/cache/warm-popular-moods`).set(auth);
    expect(finished.body).toMatchObject({ jobId, total: 2, done: 2, failed: 0 });
    expect(finished.body.finishedAt).toBeTruthy();
    expect(control.calls).toBe(2);
  });

  it('POST /cache/warm-popular-moods is 501 when the host gave no computeRecommendations', async () => {
    const { app } = await host();
    const res = await request(app).post(`${PREFIX}/cache/warm-popular-moods`).set(auth);
    expect(res.status).toBe(501);
    expect(res.body.error).toMatch(/computeRecommendations/);
  });

  it('GET /id-registry/stats reports live entries and lookups', async () => {
    const { reprise, app } = await host();
    await reprise.idRegistry.markValidated('4uLU6hMCjMI75M1A2tKUQC', '0b7b1d2c-3f4e-4a5b-8c6d-7e8f9a0b1c2d');
    await reprise.idRegistry.markMissing('1A2B3C4D5E6F7G8H9I0J1K', 'absent_from_reccobeats');
    await reprise.idRegistry.bulkCheckMissing(['1A2B3C4D5E6F7G8H9I0J1K', '4uLU6hMCjMI75M1A2tKUQC']);
    const res = await request(app).get(`${PREFIX}/id-registry/stats`).set(auth);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ validated: 1, missing: 1 });
    expect(res.body.ttls).toBeTruthy();
    expect(res.body.lookups).toBeTruthy();
    expect(res.body).toHaveProperty('apiCallsAvoided');
  });

  it('GET /profiling/metrics summarises cache operations and the host stages it wraps with profile()', async () => {
    const { reprise, app } = await host();
    await reprise.cache.getOrSet('mood_analysis', 'calm', async () => ({ energy: 0.2 }));
    await reprise.profile('host.mood_analysis', async () => 'done');
    await reprise.profile('host.mood_analysis', async () => 'done');
    const res = await request(app).get(`${PREFIX}/profiling/metrics`).set(auth);
    expect(res.status).toBe(200);
    expect(res.body.unit).toBe('seconds');
    expect(res.body.operations['host.mood_analysis']).toMatchObject({ count: 2 });
    expect(res.body.operations['cache.get_or_set'].count).toBe(1);
    for (const summary of Object.values(res.body.operations) as Array<Record<string, number>>) {
      for (const field of ['count', 'mean', 'p50', 'p95', 'p99']) expect(Number.isFinite(summary[field])).toBe(true);
    }
  });

  it('serves /metrics in Prometheus text that follows real operations', async () => {
    const { reprise, app } = await host();
    const before = await request(app).get('/metrics');
    expect(before.headers['content-type']).toMatch(/text\/plain/);
    const labels = { category: 'top_artists', tier: 'memory', result: 'hit' };
    expect(sample(before.text, 'reprise_cache_requests_total', labels)).toBe(0);
    await reprise.cache.set('top_artists', 'u', ['a']);
    await reprise.cache.get('top_artists', 'u');
    const after = await request(app).get('/metrics');
    expect(sample(after.text, 'reprise_cache_requests_total', labels)).toBe(1);
    expect(sample(after.text, 'reprise_cache_backend', { type: 'memory' })).toBe(1);
    expect(sample(after.text, 'reprise_popular_moods_configured')).toBe(10);
  });
});

describe.skipIf(!hasRedisServer)('admin routes of two workers sharing Redis', () => {
  const server = useRedisServer();
  const opened = closeAfterEachTest<Reprise>();

  async function worker(computeRecommendations: ReturnType<typeof deferredCompute>['compute']) {
    const reprise = await createReprise({
      redisUrl: server().url, keyPrefix: 'routes:', adminToken: TOKEN, warmSchedule: false, popularMoods: ['calm'],
      computeRecommendations, logger: recordingLogger(), env: {},
    });
    opened.push(reprise);
    const app = express5();
    app.use(PREFIX, reprise.router);
    return { reprise, app };
  }
  const auth = { Authorization: `Bearer ${TOKEN}` };

  it('answers 409 with the running job on one worker while the other warms, and both report shared figures', async () => {
    const control = deferredCompute();
    const a = await worker(control.compute);
    const b = await worker(control.compute);

    const started = await request(a.app).post(`${PREFIX}/cache/warm-popular-moods`).set(auth).send({});
    expect(started.status).toBe(202);
    const refused = await request(b.app).post(`${PREFIX}/cache/warm-popular-moods`).set(auth).send({});
    expect(refused.status).toBe(409);
    expect(refused.body.runningJobId).toBe(started.body.jobId);
    expect((await request(b.app).get(`${PREFIX}/cache/warm-popular-moods`).set(auth)).body).toMatchObject({ jobId: started.body.jobId, status: 'running' });

    await expect.poll(() => control.waiting).toBe(1);
    control.releaseAll();
    await expect.poll(async () => (await request(b.app).get(`${PREFIX}/cache/warm-popular-moods`).set(auth)).body.status).toBe('succeeded');

    await a.reprise.idRegistry.markValidated('4uLU6hMCjMI75M1A2tKUQC', '0b7b1d2c-3f4e-4a5b-8c6d-7e8f9a0b1c2d');
    const stats = await request(b.app).get(`${PREFIX}/cache/stats`).set(auth);
    expect(stats.body).toMatchObject({ cacheType: 'redis', popularMoods: { total: 1, cached: 1, coverage: 1 }, idRegistry: { validated: 1 } });
    expect(control.calls).toBe(1);
  });
});
