/**
 * End to end, the alerts on unusual registry patterns: a real Prometheus (the repository's scrape config and rules,
 * evaluated every second) scrapes a demo worker on a real Redis. Users ask for playlists; then the ReccoBeats
 * simulator switches to a catalogue that lacks most tracks, and new users' conversions mark most of their new IDs
 * missing: RepriseRegistryMissingSurge's condition holds (the alert goes pending; it would fire after its 15 minutes).
 * Then ReccoBeats refuses track lookups and conversions leave IDs unresolved: RepriseConversionsFailing goes pending.
 * The "ID registry patterns" panels show what happened.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../../examples/demo/server.js';
import { spotifyTrackIds } from '../../src/reccobeats/simulator/deterministic.js';
import { sample } from '../harness/prometheus.js';
import { hasPrometheus, startPrometheus, type PrometheusServer } from '../harness/prometheus-server.js';
import { startBackend, type Backend } from '../harness/backends.js';
import { hasRedisServer, pollUntil } from '../harness/redis-servers.js';
import { dataPanels, loadDashboards, REPO_ROOT } from './dashboards.js';
import { playlist, scrape } from './demo-traffic.js';

interface ScrapeConfig {
  global: Record<string, string>;
  rule_files: string[];
  scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
}

/** prometheus/prometheus.yml scraping `target` every second and evaluating the repository's rules every second. */
function scrapeConfig(target: string): ScrapeConfig {
  const config = parse(readFileSync(path.join(REPO_ROOT, 'prometheus/prometheus.yml'), 'utf8')) as ScrapeConfig;
  config.global = { ...config.global, scrape_interval: '1s', evaluation_interval: '1s' };
  config.rule_files = config.rule_files.map((file) => path.join(REPO_ROOT, 'prometheus', file));
  config.scrape_configs.find((job) => job.job_name === 'reprise')!.static_configs = [{ targets: [target] }];
  return config;
}

describe.skipIf(!hasPrometheus || !hasRedisServer)('alerts on unusual registry patterns, end to end', () => {
  let redis: Backend;
  let demo: Demo;
  let prometheus: PrometheusServer;

  /** The state Prometheus gives `alertname` now: 'pending', 'firing', or null when its condition does not hold. */
  async function alertState(alertname: string): Promise<string | null> {
    const active = await prometheus.query(`ALERTS{alertname="${alertname}"}`);
    return active[0]?.metric.alertstate ?? null;
  }

  /** Waits until Prometheus has scraped what the demo exported so far (and evaluated the rules on it). */
  async function scraped(): Promise<void> {
    const after = Date.now() / 1_000 + 1;
    await pollUntil(async () => {
      const latest = await prometheus.query('timestamp(reprise_id_registry_validations_total)');
      return latest.length > 0 && latest[0]!.value > after;
    }, 'Prometheus to scrape the demo again', undefined, 30_000);
  }

  beforeAll(async () => {
    redis = await startBackend('standalone');
    demo = await startDemo({ host: '127.0.0.1', port: 0, redisUrl: redis.url, warmSchedule: false, latencyScale: 0.1, quiet: true });
    prometheus = await startPrometheus(scrapeConfig(new URL(demo.url).host));
    await pollUntil(async () => (await prometheus.targets()).some((target) => target.health === 'up'), 'Prometheus to scrape the demo', undefined, 30_000);
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await demo?.close();
    await redis?.destroy();
  });

  it('raises nothing while ReccoBeats lacks its usual quarter of the tracks', async () => {
    for (let user = 0; user < 3; user++) await playlist(demo, `steady-${user}`, 'rainy sunday coding');
    await scraped();
    const text = await scrape(demo);
    // About a quarter of each user's 30 top tracks are unknown to the simulator's catalogue.
    expect(sample(text, 'reprise_id_registry_validations_total', {})).toBeGreaterThan(2 * sample(text, 'reprise_id_registry_missing_marks_total', { reason: 'not_found' }));
    expect(await alertState('RepriseRegistryMissingSurge')).toBeNull();
    expect(await alertState('RepriseConversionsFailing')).toBeNull();
  }, 60_000);

  it('sees a surge of missing marks against validations once the catalogue changes', async () => {
    // Nine tracks in ten gone. New users share chart tracks with the earlier ones (known to the registry already), so
    // only their other tracks reach ReccoBeats: after a dozen of them, marks outnumber validations more than two to one.
    demo.simulator!.switchCatalog({ unknownFraction: 0.9 });
    for (let user = 0; user < 14; user++) await playlist(demo, `after-change-${user}`, 'rainy sunday coding');
    await pollUntil(async () => (await alertState('RepriseRegistryMissingSurge')) !== null, 'RepriseRegistryMissingSurge to go pending', undefined, 30_000);
    expect(await alertState('RepriseRegistryMissingSurge')).toBe('pending');
    const text = await scrape(demo);
    expect(sample(text, 'reprise_id_registry_missing_marks_total', { reason: 'not_found' })).toBeGreaterThan(2 * sample(text, 'reprise_id_registry_validations_total', {}));
    expect(sample(text, 'reprise_id_conversions_total', { outcome: 'not_found' })).toBe(sample(text, 'reprise_id_registry_missing_marks_total', { reason: 'not_found' }));
    // The marks went into Bloom filters: the registry reports them per generation.
    const { missingMarks } = await demo.reprise.idRegistry.stats();
    expect(missingMarks.mode).toBe('bloom');
    expect(missingMarks.inFilters).toBeGreaterThan(200);
    expect(await alertState('RepriseConversionsFailing')).toBeNull();
  }, 60_000);

  it('sees conversions failing when ReccoBeats refuses track lookups', async () => {
    const batches = 4;
    demo.simulator!.failNext({ status: 400, count: batches, endpoint: 'track' });
    const ids = spotifyTrackIds(40 * batches, 'refused-lookups');
    const converted = await demo.reprise.reccobeats.convertSpotifyTracksToReccobeat(ids);
    expect(converted.size).toBe(0);
    expect(sample(await scrape(demo), 'reprise_id_conversions_total', { outcome: 'unresolved' })).toBe(ids.length);
    await pollUntil(async () => (await alertState('RepriseConversionsFailing')) !== null, 'RepriseConversionsFailing to go pending', undefined, 30_000);
    expect(await alertState('RepriseConversionsFailing')).toBe('pending');
  }, 60_000);

  it('shows the surge and the outcomes on the ID registry patterns panels', async () => {
    const dashboard = loadDashboards().find((candidate) => candidate.file === 'reprise-upstream.json')!;
    const panel = (title: string) => dataPanels(dashboard).find((candidate) => candidate.title === title)!;
    const fill = (expr: string) => expr.replaceAll('$job', 'reprise').replaceAll('$instance', '.+').replaceAll('$__rate_interval', '5m');
    const share = await prometheus.query(fill(panel('Share of new IDs found missing').targets![0]!.expr!));
    expect(share[0]!.value).toBeGreaterThan(0.5);
    expect(share[0]!.value).toBeLessThan(1);
    const marks = await prometheus.query(fill(panel('Registry marks by reason').targets![1]!.expr!));
    expect(marks.find((entry) => entry.metric.reason === 'not_found')!.value).toBeGreaterThan(0);
    const outcomes = await prometheus.query(fill(panel('Conversion outcomes').targets![0]!.expr!));
    const byOutcome = Object.fromEntries(outcomes.map((entry) => [entry.metric.outcome, entry.value]));
    for (const outcome of ['found', 'not_found', 'unresolved']) expect(byOutcome[outcome], outcome).toBeGreaterThan(0);
  }, 30_000);
});
