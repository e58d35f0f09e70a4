/**
 * `npm start -- --workers N`: the demo under node:cluster. N workers share one port; /metrics on any of them answers
 * for the whole group (prom-client's AggregatorRegistry: counters summed, per-process gauges by their aggregator);
 * with one Redis and one cron schedule they run one warm per slot; the primary replaces a worker that dies and stops
 * them all on SIGINT or SIGTERM, leaving no process behind. Without --workers the demo stays one process.
 */
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { isRunning, killDemoProcesses, send, startDemoProcess, type Answer, type DemoProcess } from '../harness/demo-process.js';
import { useRedisServer } from '../harness/lifecycle.js';
import { sample } from '../harness/prometheus.js';
import { hasRedisServer, pollUntil } from '../harness/redis-servers.js';

afterEach(() => killDemoProcesses());

async function metrics(demo: DemoProcess): Promise<Answer> {
  const answer = await send(demo, 'GET', '/metrics');
  expect(answer.status, answer.text).toBe(200);
  return answer;
}

/** Sum of every sample of `name` whose labels include `labels`. */
function total(text: string, name: string, labels: Record<string, string> = {}): number {
  return text.split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`)))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe.skipIf(!hasRedisServer)('npm start -- --workers N on one Redis', () => {
  const redis = useRedisServer();

  it('shares one port between the workers, and /metrics on any of them adds up the work of all', async () => {
    const demo = await startDemoProcess({ REDIS_URL: redis().url, REPRISE_WARM_CRON: 'false' }, ['--workers', '3']);
    expect(demo.workerPids).toHaveLength(3);
    expect(demo.output()).toContain('3 processes under node:cluster');

    // Six users, six new moods: each costs one recommendations read and one ReccoBeats recommendation request.
    const servedBy: string[] = [];
    for (let index = 0; index < 6; index++) {
      const answer = await send(demo, 'POST', '/api/playlists', { userId: `user-${index}`, moodPrompt: `mood number ${index}` });
      expect(answer.status, answer.text).toBe(200);
      servedBy.push(answer.worker!);
    }
    expect(new Set(servedBy).size, `served by workers ${servedBy.join(', ')}`).toBeGreaterThan(1);

    // Each worker's own figures (admin stats answer for the worker that serves them) add up to 6.
    const perWorker = new Map<string, number>();
    await pollUntil(async () => {
      const answer = await send(demo, 'GET', '/api/agents/system/cache/stats', undefined, demo.adminToken);
      const reads = JSON.parse(answer.text).categories.recommendations.memory;
      perWorker.set(answer.worker!, reads.hits + reads.misses);
      return perWorker.size === 3;
    }, 'the stats of every worker');
    expect([...perWorker.values()].reduce((sum, reads) => sum + reads, 0)).toBe(6);

    // Three scrapes, three workers answering: each is the whole group's figures.
    const scrapedBy = new Set<string>();
    for (let index = 0; index < 3; index++) {
      const scrape = await metrics(demo);
      scrapedBy.add(scrape.worker!);
      expect(total(scrape.text, 'reprise_cache_requests_total', { category: 'recommendations', tier: 'memory' })).toBe(6);
      expect(total(scrape.text, 'reprise_upstream_requests_total', { endpoint: 'track_recommendation' })).toBe(6);
      // Per-process gauges: one instance on Redis is 1, not 3; figures every worker reads from Redis are not tripled.
      expect(sample(scrape.text, 'reprise_cache_backend', { type: 'redis' })).toBe(1);
      expect(sample(scrape.text, 'reprise_cache_backend', { type: 'memory' })).toBe(0);
      expect(sample(scrape.text, 'reprise_popular_moods_configured')).toBe(10);
      const registry = JSON.parse((await send(demo, 'GET', '/api/agents/system/id-registry/stats', undefined, demo.adminToken)).text);
      expect(registry.validated).toBeGreaterThan(0);
      expect(sample(scrape.text, 'reprise_id_registry_entries', { kind: 'validated' })).toBe(registry.validated);
    }
    expect(scrapedBy.size).toBeGreaterThan(1);

    expect(await demo.stop('SIGTERM')).toBe(0);
    for (const pid of demo.workerPids) expect(isRunning(pid), `worker ${pid}`).toBe(false);
  }, 120_000);

  it('runs one warm per schedule slot between workers on the same cron schedule', async () => {
    const demo = await startDemoProcess({ REDIS_URL: redis().url, REPRISE_KEY_PREFIX: 'slots:', REPRISE_WARM_CRON: '*/3 * * * * *' }, ['--workers', '3']);
    // Each warm's outcome, read where the workers record it: a run is counted, then its job and slot are written in
    // one step, and they stay until the next run starts a slot later. At each new one, the group's count of runs.
    const base = 'slots:@warm-popular-moods:{slots:warm-popular-moods}';
    const seen: Array<{ jobId: string; slot: string; ran: number }> = [];
    let scrape = '';
    const count = (...statuses: string[]) => statuses.reduce((sum, status) => sum + sample(scrape, 'reprise_warm_runs_total', { status }), 0);
    await pollUntil(async () => {
      const [job, slot] = redis().cli('MGET', `${base}:job`, `${base}:last-slot`).split('\n');
      const record = job ? JSON.parse(job) as { jobId: string; status: string; trigger: string } : null;
      if (record && record.status !== 'running' && record.trigger === 'schedule' && !seen.some((each) => each.jobId === record.jobId)) {
        scrape = (await metrics(demo)).text;
        seen.push({ jobId: record.jobId, slot: slot!, ran: count('succeeded', 'partial', 'failed') });
      }
      return seen.length >= 4;
    }, 'four scheduled warms', () => demo.child.exitCode !== null, 90_000);

    // Between two warms seen, the group counted one run: no slot ran twice (the first seen may have come before all
    // workers were up, so the comparison starts there).
    const slots = seen.map((each) => each.slot);
    expect(new Set(slots).size, `slots ${slots.join(', ')}`).toBe(slots.length);
    expect(seen.slice(1).map((each, index) => each.ran - seen[index]!.ran), `runs counted at ${slots.join(', ')}`).toEqual([1, 1, 1]);
    // And the other two workers stood down at each of those slots.
    await pollUntil(async () => {
      scrape = (await metrics(demo)).text;
      return count('skipped_locked', 'skipped_slot_done') >= 2 * (seen.length - 1);
    }, 'the other workers to stand down at each slot');
    expect(sample(scrape, 'reprise_warm_last_success_timestamp_seconds')).toBeGreaterThan(0);
    expect(sample(scrape, 'reprise_popular_moods_cached')).toBe(10);
    expect(await demo.stop('SIGINT')).toBe(0);
  }, 150_000);
});

describe('npm start -- --workers N: processes', () => {
  it('replaces a worker that dies, says so, and stops every worker on SIGINT', async () => {
    const demo = await startDemoProcess({}, ['--workers', '2']);
    const [victim, survivor] = demo.workerPids as [number, number];
    process.kill(victim, 'SIGKILL');
    await pollUntil(() => /worker \d+ \(pid \d+\) ready/.test(demo.output()), 'a replacement worker', () => demo.child.exitCode !== null, 60_000);
    expect(demo.output()).toContain(`(pid ${victim}) died (signal SIGKILL); starting a replacement`);
    const replacement = Number(/worker \d+ \(pid (\d+)\) ready/.exec(demo.output())![1]);
    expect(isRunning(victim)).toBe(false);

    // The group answers again, the replacement's metrics included, with each gauge still per instance.
    await pollUntil(async () => (await send(demo, 'GET', '/metrics')).status === 200, 'a group scrape after the replacement');
    const scrape = await metrics(demo);
    expect(sample(scrape.text, 'reprise_cache_backend', { type: 'memory' })).toBe(1);
    expect(sample(scrape.text, 'reprise_popular_moods_configured')).toBe(10);

    expect(await demo.stop('SIGINT')).toBe(0);
    for (const pid of [survivor, replacement]) expect(isRunning(pid), `worker ${pid}`).toBe(false);
  }, 120_000);

  it('stops with exit code 1 when its workers cannot listen, naming the port', async () => {
    const taken = http.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo/main.ts', '--workers', '2'], {
        env: { ...process.env, PORT: String(port), REDIS_URL: '', RECCOBEATS_BASE_URL: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout!.on('data', (chunk) => (output += chunk));
      child.stderr!.on('data', (chunk) => (output += chunk));
      const code = await new Promise((resolve) => child.once('exit', resolve));
      expect(code, output).toBe(1);
      expect(output).toContain(`port ${port} is taken`);
      expect(output).toMatch(/stopped before it was ready \(exit code 1\): stopping the demo/);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  }, 60_000);

  it('says in --help how to run workers and which port Prometheus scrapes', async () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'examples/demo/main.ts', '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/--workers N\s+run N worker processes under node:cluster, sharing PORT/);
    expect(run.stdout).toMatch(/Prometheus scrapes PORT/);
    expect(run.stdout).toMatch(/PORT\s+port to listen on \(default 3000\); \/metrics is served there/);
  }, 60_000);

  it('refuses a --workers value that is not a whole number from 1 to 64', async () => {
    for (const value of ['0', 'two', '65', '1.5']) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'examples/demo/main.ts', '--workers', value], { encoding: 'utf8', timeout: 30_000 });
      expect(run.status, value).toBe(2);
      expect(run.stderr).toContain(`--workers takes a whole number from 1 to 64, got "${value}"`);
    }
  }, 60_000);

  it('stays one process without --workers: no workers line, no worker header, its own /metrics', async () => {
    const demo = await startDemoProcess({});
    expect(demo.workerPids).toEqual([]);
    expect(demo.output()).not.toContain('node:cluster');
    const scrape = await metrics(demo);
    expect(scrape.worker).toBeUndefined();
    expect(sample(scrape.text, 'reprise_cache_backend', { type: 'memory' })).toBe(1);
    expect(await demo.stop('SIGTERM')).toBe(0);
  }, 60_000);
});
