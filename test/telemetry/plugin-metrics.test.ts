/** Every metric SPEC names, read from /metrics before and after real traffic through the demo back end. */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../../examples/demo/server.js';
import { sample } from '../harness/prometheus.js';

const SPEC_METRICS = [
  'reprise_cache_requests_total', 'reprise_cache_operation_duration_seconds', 'reprise_cache_errors_total', 'reprise_cache_backend',
  'reprise_id_registry_lookups_total', 'reprise_id_registry_entries', 'reprise_upstream_requests_total',
  'reprise_upstream_calls_avoided_total', 'reprise_popular_moods_cached', 'reprise_warm_runs_total',
  'reprise_warm_last_success_timestamp_seconds',
];

describe('plugin metrics', () => {
  let demo: Demo;
  beforeAll(async () => {
    demo = await startDemo({ latencyScale: 0, quiet: true, warmSchedule: false, adminToken: 'metrics-test-admin-token', env: {} });
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('exports every SPEC metric and moves them with real operations, with bounded labels', async () => {
    const before = (await request(demo.url).get('/metrics')).text;
    for (const name of SPEC_METRICS) expect(before, name).toContain(`# TYPE ${name} `);
    expect(sample(before, 'reprise_upstream_requests_total', { endpoint: 'track', outcome: 'success' })).toBe(0);
    expect(sample(before, 'reprise_warm_last_success_timestamp_seconds')).toBe(0);

    const users = ['u-alpha', 'u-beta'];
    for (const userId of users) {
      for (const moodPrompt of ['rainy sunday coding', 'rainy sunday coding']) {
        expect((await request(demo.url).post('/api/playlists').send({ userId, moodPrompt })).status).toBe(200);
      }
    }
    const auth = { Authorization: `Bearer ${demo.adminToken}` };
    await request(`${demo.url}/api/agents/system`).post('/cache/warm-popular-moods').set(auth).send({ moods: ['calm and relaxing'] }).expect(202);
    await expect.poll(async () => (await request(`${demo.url}/api/agents/system`).get('/cache/warm-popular-moods').set(auth)).body.status).toBe('succeeded');
    await request(`${demo.url}/api/agents/system`).get('/cache/stats').set(auth).expect(200);

    const after = (await request(demo.url).get('/metrics')).text;
    expect(sample(after, 'reprise_cache_requests_total', { category: 'mood_analysis', tier: 'memory', result: 'hit' })).toBeGreaterThan(0);
    expect(sample(after, 'reprise_upstream_requests_total', { service: 'reccobeats', endpoint: 'track', outcome: 'success' })).toBeGreaterThan(0);
    expect(sample(after, 'reprise_id_registry_lookups_total', { result: 'unknown' })).toBeGreaterThan(0);
    expect(sample(after, 'reprise_id_registry_entries', { kind: 'validated' })).toBeGreaterThan(0);
    expect(sample(after, 'reprise_warm_runs_total', { status: 'succeeded' })).toBe(1);
    expect(sample(after, 'reprise_warm_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(sample(after, 'reprise_popular_moods_cached')).toBe(1);
    expect(sample(after, 'reprise_cache_backend', { type: 'memory' })).toBe(1);

    // Labels never carry users, prompts or IDs, so series stay bounded whatever the traffic.
    const labelValues = [...after.matchAll(/="([^"]*)"/g)].map((match) => match[1]!);
    for (const forbidden of [...users, 'rainy', 'calm and relaxing']) {
      expect(labelValues.some((value) => value.includes(forbidden)), forbidden).toBe(false);
    }
    expect(labelValues.some((value) => /^[A-Za-z0-9]{22}$/.test(value))).toBe(false);

    // Coverage is read at each scrape, without counting as cache traffic, and follows an invalidation.
    const moodReads = (text: string) => ['hit', 'miss'].reduce((sum, result) =>
      sum + sample(text, 'reprise_cache_requests_total', { category: 'popular_mood_cache', tier: 'memory', result }), 0);
    await demo.reprise.cache.invalidate('popular_mood_cache');
    const scraped = (await request(demo.url).get('/metrics')).text;
    expect(sample(scraped, 'reprise_popular_moods_cached')).toBe(0);
    expect(moodReads(scraped)).toBe(moodReads(after));
  });
});
