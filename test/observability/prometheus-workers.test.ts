/**
 * A real Prometheus (the repository's scrape config and alert rules) scrapes the demo run as
 * `npm start -- --workers 2` on a real Redis: one target, the shared port, each scrape the whole group as the primary
 * gathers it. Prometheus must store the work of both workers added up, each per-instance gauge once (not once per
 * worker), and one warm run for the group; the dashboards show one instance; promtool accepts the group's scrape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startDemoProcess, type DemoProcess } from '../harness/demo-process.js';
import { useRedisServer } from '../harness/lifecycle.js';
import { hasPrometheus, promtool, startPrometheus, type PrometheusServer } from '../harness/prometheus-server.js';
import { hasRedisServer, pollUntil } from '../harness/redis-servers.js';
import { dataPanels, loadDashboards } from './dashboards.js';
import { regexOf, substitute, testScrapeConfig } from './prometheus-config.js';

/** Playlists asked for, each a new user with a new mood: one recommendations read each. */
const PLAYLISTS = 6;

describe.skipIf(!hasPrometheus || !hasRedisServer)('Prometheus scraping the demo under node:cluster (npm start -- --workers 2)', () => {
  const redis = useRedisServer();
  let demo: DemoProcess;
  let prometheus: PrometheusServer;
  let target: string;
  const servedBy = new Set<string>();

  /** The value of a one-sample query (NaN when it has none). */
  const value = async (expr: string) => (await prometheus.query(expr))[0]?.value ?? Number.NaN;

  beforeAll(async () => {
    demo = await startDemoProcess({ REDIS_URL: redis().url, REPRISE_WARM_CRON: 'false' }, ['--workers', '2']);
    target = new URL(demo.url).host;
    prometheus = await startPrometheus(testScrapeConfig([target]));
    await pollUntil(async () => (await prometheus.targets()).some((each) => each.health === 'up'), 'Prometheus to scrape the demo', undefined, 30_000);

    for (let index = 0; index < PLAYLISTS; index++) {
      const answer = await send(demo, 'POST', '/api/playlists', { userId: `listener-${index}`, moodPrompt: `evening mood ${index}` });
      expect(answer.status, answer.text).toBe(200);
      servedBy.add(answer.worker!);
    }
    await pollUntil(
      async () => (await value('sum(reprise_cache_requests_total{category="recommendations", tier="memory"})')) === PLAYLISTS,
      'Prometheus to store every playlist of both workers',
      undefined,
      30_000,
    );

    // An operator warms the popular moods through the shared port; one worker runs it for the group.
    const started = await send(demo, 'POST', '/api/agents/system/cache/warm-popular-moods', undefined, demo.adminToken);
    expect(started.status, started.text).toBe(202);
    await pollUntil(async () => (await value('sum(reprise_warm_runs_total{status="succeeded"})')) === 1, 'Prometheus to store the warm run', undefined, 60_000);
  }, 180_000);

  afterAll(async () => {
    await prometheus?.stop();
    await demo?.stop('SIGTERM');
  });

  it('has one target, the shared port, up', async () => {
    const targets = await prometheus.targets();
    expect(targets.map((each) => [each.job, new URL(each.scrapeUrl).host, each.health])).toEqual([['reprise', target, 'up']]);
    expect(await value('count(up{job="reprise"} == 1)')).toBe(1);
  });

  it('stores the work of both workers added up', async () => {
    expect(servedBy.size, 'the playlists were served by both workers').toBe(2);
    // Stored before the warm (beforeAll waits for it), and now with the warm's one read per popular mood.
    expect(await value('sum(reprise_cache_requests_total{category="recommendations", tier="memory"})')).toBe(PLAYLISTS + 10);
  });

  it('stores each per-instance gauge once: the instance is on Redis (1, not 2), the shared figures are not doubled', async () => {
    const backend = await prometheus.query('reprise_cache_backend');
    expect(Object.fromEntries(backend.map((entry) => [entry.metric.type, entry.value]))).toEqual({ redis: 1, memory: 0 });
    expect(await value('reprise_popular_moods_configured')).toBe(10);
    expect(await value('reprise_popular_moods_cached')).toBe(10);
    const registry = JSON.parse((await send(demo, 'GET', '/api/agents/system/id-registry/stats', undefined, demo.adminToken)).text);
    expect(await value('reprise_id_registry_entries{kind="validated"}')).toBe(registry.validated);
  });

  it('counts one warm run for the group: one worker ran it, none was refused', async () => {
    const runs = await prometheus.query('reprise_warm_runs_total');
    expect(Object.fromEntries(runs.map((entry) => [entry.metric.status, entry.value]))).toEqual({
      succeeded: 1, partial: 0, failed: 0, skipped_locked: 0, skipped_slot_done: 0,
    });
    expect(await value('time() - reprise_warm_last_success_timestamp_seconds')).toBeLessThan(300);
  });

  /** Dashboard figures about instances: the group is one instance. */
  const figures: Array<[string, string, Record<string, number>]> = [
    ['Cache overview', 'Instances by active backend', { redis: 1, memory: 0 }],
    ['Cache overview', 'Instances serving from memory', { '': 0 }],
    ['Upstream and warming', 'Popular mood coverage', { '': 1 }],
    ['Upstream and warming', 'Warm runs since start', { succeeded: 1, partial: 0, failed: 0, skipped_locked: 0, skipped_slot_done: 0 }],
  ];
  it.each(figures)('%s / %s shows one instance', async (dashboardTitle, panelTitle, expected) => {
    const dashboard = loadDashboards().find((candidate) => candidate.title.endsWith(dashboardTitle))!;
    const panel = dataPanels(dashboard).find((candidate) => candidate.title === panelTitle);
    expect(panel, panelTitle).toBeDefined();
    const result = await prometheus.query(substitute(panel!.targets![0]!.expr!, { job: regexOf(['reprise']), instance: regexOf([target]) }));
    expect(Object.fromEntries(result.map((entry) => [Object.values(entry.metric).join(','), entry.value]))).toEqual(expected);
  });

  it('evaluates every alert rule on the group series without errors', async () => {
    await pollUntil(async () => (await prometheus.rules()).every((rule) => rule.health !== 'unknown'), 'a first rule evaluation');
    for (const rule of await prometheus.rules()) expect(rule.health, `${rule.name}: ${rule.lastError ?? ''}`).toBe('ok');
  });

  it('passes promtool check metrics on the group scrape', async () => {
    const scrape = await send(demo, 'GET', '/metrics');
    expect(scrape.status).toBe(200);
    const run = promtool(['check', 'metrics'], scrape.text);
    expect(run.status, run.output).toBe(0);
    expect(run.output.trim(), 'no lint findings').toBe('');
  });
});
