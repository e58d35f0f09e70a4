/**
 * End to end: a real Prometheus (the repository's scrape config and alert rules) scrapes two demo workers that share
 * a real Redis (standalone, then a 3-master Cluster). Users ask for playlists (new and repeated moods, on both workers), an operator warms the popular
 * moods, reads the registry stats and invalidates a category, and Redis hangs for a moment. Then every dashboard
 * panel's query, with Grafana's variables filled in, must return data, and promtool must accept the config, the
 * rules and what /metrics exposes.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../../examples/demo/server.js';
import { sample } from '../harness/prometheus.js';
import { hasPrometheus, promtool, startPrometheus, type PrometheusServer, type QuerySample } from '../harness/prometheus-server.js';
import { BACKEND_NAMES, startBackend, type Backend } from '../harness/backends.js';
import { hasRedisServer, pollUntil } from '../harness/redis-servers.js';
import { dataPanels, loadDashboards, queryName, REPO_ROOT, variableQuery, type Dashboard, type Target } from './dashboards.js';
import { admin, playlist, scrape } from './demo-traffic.js';
import { regexOf, substitute, testScrapeConfig } from './prometheus-config.js';

const hasData = (samples: QuerySample[]) => samples.some((entry) => Number.isFinite(entry.value));

describe.skipIf(!hasPrometheus || !hasRedisServer).each(BACKEND_NAMES)('Prometheus scraping the demo on %s Redis: every dashboard panel shows data', (backendName) => {
  const dashboards = loadDashboards();
  const panelQueries: Array<[string, Dashboard, Target]> = dashboards.flatMap((dashboard) =>
    dataPanels(dashboard).flatMap((panel) =>
      (panel.targets ?? []).map((target): [string, Dashboard, Target] => [queryName(dashboard, panel, target), dashboard, target]),
    ),
  );

  let redis: Backend;
  const workers: Demo[] = [];
  let prometheus: PrometheusServer;
  const variables: Record<string, string> = {};
  let jobs: string[] = [];
  let instances: string[] = [];

  beforeAll(async () => {
    redis = await startBackend(backendName);
    for (let index = 0; index < 2; index++) {
      workers.push(await startDemo({ host: '127.0.0.1', port: 0, redisUrl: redis.url, warmSchedule: false, latencyScale: 0.1, quiet: true }));
    }
    const [first, second] = workers as [Demo, Demo];
    const targets = workers.map((worker) => new URL(worker.url).host);
    prometheus = await startPrometheus(testScrapeConfig(targets));
    // Counters must rise between scrapes for rate() to see them: traffic starts once both workers were scraped.
    await pollUntil(async () => {
      const active = await prometheus.targets();
      return active.length === 2 && active.every((target) => target.health === 'up');
    }, 'Prometheus to scrape both demo workers', undefined, 30_000);

    // Users: new moods, the same mood again (memory hits), the same mood on the other worker (Redis hits), a popular one.
    const moods = ['rainy sunday coding', 'Happy & Energetic!', 'late night drive', 'focus and concentration'];
    for (const mood of moods) await playlist(first, 'ada', mood);
    for (const mood of moods) await playlist(first, 'ada', mood);
    for (const mood of moods) await playlist(second, 'grace', mood);

    // The operator: a warm of the popular moods, registry stats, an invalidation.
    await admin(first, 'POST', '/cache/warm-popular-moods', 202);
    await pollUntil(async () => {
      const progress = await admin<{ status: string; finishedAt: string | null }>(first, 'GET', '/cache/warm-popular-moods');
      return progress.finishedAt !== null && progress.status !== 'running';
    }, 'the warm run to finish', undefined, 60_000);
    for (const worker of workers) await admin(worker, 'GET', '/id-registry/stats');
    await playlist(second, 'grace', 'party vibes');
    const invalidated = await admin<{ invalidated: number }>(first, 'POST', '/cache/invalidate?category=recommendations');
    expect(invalidated.invalidated).toBeGreaterThan(0);

    // Redis hangs: requests still answer (from memory), the errors are counted, and the worker returns to Redis after.
    for (const server of redis.servers) server.pause();
    try {
      await playlist(first, 'ada', 'stormy morning');
    } finally {
      for (const server of redis.servers) server.resume();
    }
    // Each worker's next requests probe Redis and close its circuit again.
    let attempt = 0;
    for (const worker of workers) {
      await pollUntil(async () => (await playlist(worker, 'ada', `bright afternoon ${attempt++}`)).cacheType === 'redis', 'the worker to return to Redis');
    }
    expect(sample(await scrape(first), 'reprise_cache_errors_total', { tier: 'redis' })).toBeGreaterThan(0);

    const lastTraffic = Date.now() / 1_000;
    await pollUntil(async () => {
      const scraped = await prometheus.query('min(timestamp(reprise_cache_backend))');
      return scraped.length > 0 && scraped[0]!.value > lastTraffic;
    }, 'Prometheus to scrape both workers after the traffic', undefined, 30_000);

    // Grafana's $job and $instance: the values their label_values() queries list, every value selected.
    const [jobVariable, instanceVariable] = ['job', 'instance'].map((name) => dashboards[0]!.templating.list.find((variable) => variable.name === name)!);
    jobs = await labelValues(variableQuery(jobVariable!), {});
    variables.job = regexOf(jobs);
    instances = await labelValues(variableQuery(instanceVariable!), variables);
    variables.instance = regexOf(instances);
  }, 240_000);

  /** Grafana's label_values(selector, label), asked of Prometheus. */
  async function labelValues(query: string, known: Record<string, string>): Promise<string[]> {
    const [, selector, label] = /^label_values\((.+),\s*(\w+)\)$/.exec(query)!;
    const result = await prometheus.query(`count by (${label}) (${substitute(selector!, known)})`);
    return result.map((entry) => entry.metric[label!]!).sort();
  }

  afterAll(async () => {
    await prometheus?.stop();
    for (const worker of workers) await worker.close();
    await redis?.destroy();
  });

  it('lists the scraped job and both workers as the values of the $job and $instance variables', () => {
    expect(jobs).toEqual(['reprise']);
    expect(instances).toEqual(workers.map((worker) => new URL(worker.url).host).sort());
  });

  it.each(panelQueries)('%s returns data', async (_name, _dashboard, target) => {
    const expr = substitute(target.expr!, variables);
    let result: QuerySample[] = [];
    await pollUntil(async () => hasData((result = await prometheus.query(expr))), `data for ${expr}`, undefined, 20_000)
      .catch(() => undefined);
    expect(result.length, expr).toBeGreaterThan(0);
    expect(hasData(result), `${expr}\n  -> ${JSON.stringify(result)}`).toBe(true);
  });

  it('stores the Redis errors of the hang and sees both workers back on Redis', async () => {
    const errors = await prometheus.query('sum(reprise_cache_errors_total{tier="redis"})');
    expect(errors[0]?.value).toBeGreaterThan(0);
    const onRedis = await prometheus.query('sum(reprise_cache_backend{type="redis"})');
    expect(onRedis[0]?.value).toBe(2);
  });

  /** Panels whose figures this traffic fixes: they must show them, not just something. */
  const expectedFigures: Array<[string, string, (values: Record<string, number>) => void]> = [
    ['Cache overview', 'Hit ratio', (v) => expect(v['']).toSatisfy((ratio: number) => ratio > 0 && ratio <= 1)],
    ['Cache overview', 'Instances by active backend', (v) => expect(v).toEqual({ redis: 2, memory: 0 })],
    ['Cache overview', 'Instances serving from memory', (v) => expect(v).toEqual({ '': 0 })],
    ['Cache overview', 'Hit ratio by tier', (v) => {
      expect(Object.keys(v).sort()).toEqual(['memory', 'redis']);
      for (const ratio of Object.values(v)) expect(ratio).toSatisfy((r: number) => r >= 0 && r <= 1);
    }],
    ['Cache overview', 'Registry entries', (v) => expect(v.validated).toBeGreaterThan(0)],
    ['Upstream and warming', 'Upstream error ratio', (v) => expect(v).toEqual({ reccobeats: 0 })],
    ['Upstream and warming', 'Share avoided', (v) => expect(v['']).toSatisfy((share: number) => share > 0 && share <= 1)],
    ['Upstream and warming', 'Popular mood coverage', (v) => expect(v).toEqual({ '': 1 })],
    ['Upstream and warming', 'Time since last successful warm', (v) => expect(v['']).toSatisfy((age: number) => age >= 0 && age < 300)],
    ['Upstream and warming', 'Warm runs since start', (v) => expect(v.succeeded).toBe(1)],
    ['Upstream and warming', 'Mean warm run duration', (v) => expect(v['']).toBeGreaterThan(0)],
  ];
  it.each(expectedFigures)('%s / %s shows what the traffic did', async (dashboardTitle, panelTitle, check) => {
    const dashboard = dashboards.find((candidate) => candidate.title.endsWith(dashboardTitle))!;
    const panel = dataPanels(dashboard).find((candidate) => candidate.title === panelTitle);
    expect(panel, panelTitle).toBeDefined();
    const result = await prometheus.query(substitute(panel!.targets![0]!.expr!, variables));
    // Keyed by the one label the panel groups by (or '' for a single figure).
    check(Object.fromEntries(result.map((entry) => [Object.values(entry.metric).join(','), entry.value])));
  });

  it('evaluates every alert rule against the live series without errors', async () => {
    await pollUntil(async () => (await prometheus.rules()).every((rule) => rule.health !== 'unknown'), 'a first rule evaluation');
    const rules = await prometheus.rules();
    expect(rules.map((rule) => rule.name).sort()).toEqual(
      [
        'RepriseConversionsFailing', 'RepriseHitRatioLow', 'RepriseRedisDown', 'RepriseRedisFull', 'RepriseRedisNearFull', 'RepriseRegistryMissingSurge',
        'RepriseRunningOnMemory', 'RepriseUpstreamErrors', 'RepriseWarmStale',
      ],
    );
    for (const rule of rules) expect(rule.health, `${rule.name}: ${rule.lastError ?? ''}`).toBe('ok');
  });

  it('passes promtool check config on the scrape config and check rules on the alert rules', () => {
    const config = promtool(['check', 'config', path.join(REPO_ROOT, 'prometheus/prometheus.yml')]);
    expect(config.status, config.output).toBe(0);
    const rules = promtool(['check', 'rules', path.join(REPO_ROOT, 'prometheus/alerts.yml')]);
    expect(rules.status, rules.output).toBe(0);
  });

  it('passes promtool check metrics on what /metrics exposes after the traffic', async () => {
    for (const worker of workers) {
      const text = await scrape(worker);
      expect(text).toContain('reprise_warm_runs_total');
      const run = promtool(['check', 'metrics'], text);
      expect(run.status, run.output).toBe(0);
      expect(run.output.trim(), 'no lint findings').toBe('');
    }
  });
});
