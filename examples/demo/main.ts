/**
 * `npm start`: runs the demo back end and tells a newcomer what to try.
 *   PORT (default 3000), REDIS_URL (unset: memory only), RECCOBEATS_BASE_URL (unset: the simulator),
 *   REPRISE_ADMIN_TOKEN (unset: a random one, printed), OTEL_EXPORTER_OTLP_ENDPOINT (set: traces are exported).
 * `npm start -- --workers N` runs N worker processes under node:cluster on the same port (cluster.ts); without it,
 * one process.
 */
import { randomBytes } from 'node:crypto';
import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import { redactRedisUrl } from '../../src/redis/redact.js';
import { parseRedisUrl } from '../../src/redis/redis-url.js';
import { startTracing } from './tracing.js';
import type { WorkerReady } from './cluster.js';
import { groupMetricsHandler, joinGroupMetrics, shareWithGroup } from './group-metrics.js';

const MAX_WORKERS = 64;

const HELP = `reprise demo: an Express back end that turns mood prompts into playlists through reprise.

Usage: npm start [-- --workers N] [-- --help]

  --workers N                   run N worker processes under node:cluster, sharing PORT (1 to ${MAX_WORKERS});
                                the primary replaces a worker that dies and stops all on SIGINT/SIGTERM.
                                Prometheus scrapes PORT as always: GET /metrics on any worker answers for
                                the whole group (prom-client's AggregatorRegistry, gathered by the primary).
                                Give them a REDIS_URL to share the cache and run one warm per schedule slot.
                                Unset: one process.

Environment:
  PORT                          port to listen on (default 3000); /metrics is served there
  HOST                          address to listen on (default 127.0.0.1)
  REDIS_URL                     redis://host:port, rediss://... (TLS), a comma-separated Cluster node list, or
                                redis+sentinel://s1:26379,s2:26379/<master-name>; unset: reprise runs in memory only
  REDIS_TLS_CA_FILE             PEM file of the CAs trusted for rediss:// (default: Node's)
  REDIS_SENTINEL_PASSWORD       the sentinels' own password, when they require one
  REDIS_SENTINEL_USERNAME       the sentinels' own ACL user, with REDIS_SENTINEL_PASSWORD
  RECCOBEATS_BASE_URL           the ReccoBeats API; unset: a local simulator with a synthetic catalog
  REPRISE_ADMIN_TOKEN           bearer token of the admin routes; unset: a random one, printed below
  REPRISE_WARM_CRON             cron expression of the popular mood warm (default "0 3 * * *"), or false
  OTEL_EXPORTER_OTLP_ENDPOINT   e.g. http://127.0.0.1:4318: export traces over OTLP/HTTP
`;

/** The --workers count; null without the flag. Exits 2 on a command line it does not understand. */
function workersFlag(args: string[]): number | null {
  try {
    const { values } = parseArgs({ args, options: { workers: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      process.stdout.write(HELP);
      process.exit(0);
    }
    if (values.workers === undefined) return null;
    const workers = Number(values.workers);
    if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
      throw new Error(`--workers takes a whole number from 1 to ${MAX_WORKERS}, got "${values.workers}"`);
    }
    return workers;
  } catch (error) {
    console.error(`reprise demo: ${(error as Error).message} (npm start -- --help lists the options)`);
    process.exit(2);
  }
}

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const workers = cluster.isPrimary ? workersFlag(process.argv.slice(2)) : null;

function printBanner(ready: Omit<WorkerReady, 'type'>, adminToken: string, processes?: number[]) {
  const redisUrl = process.env.REDIS_URL?.trim();
  const tracing = process.env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const admin = `${ready.url}/api/agents/system`;
  const workersLine = processes
    ? `\n  workers:    ${processes.length} processes under node:cluster (pids ${processes.join(', ')}); /metrics answers for all of them`
    : '';
  console.log(`
reprise demo listening on ${ready.url}
  ReccoBeats: ${ready.simulatorUrl ? `SIMULATOR at ${ready.simulatorUrl} (synthetic catalog; set RECCOBEATS_BASE_URL for the real API)` : process.env.RECCOBEATS_BASE_URL}
  cache:      ${redisUrl ? `Redis at ${describeRedisUrl(redisUrl)} (now serving from ${ready.cacheType})` : 'memory only (set REDIS_URL to share and keep it)'}
  tracing:    ${tracing ? `OTLP to ${tracing}` : 'off (set OTEL_EXPORTER_OTLP_ENDPOINT to export traces)'}${workersLine}
  operator:   ${admin}/ (in a browser; it asks for the admin token)
  admin token: ${adminToken}

Try:
  curl -s -X POST ${ready.url}/api/playlists -H 'content-type: application/json' -d '{"userId":"ada","moodPrompt":"rainy sunday coding"}'
  curl -s ${admin}/cache/stats -H 'authorization: Bearer ${adminToken}'
  curl -s -X POST ${admin}/cache/warm-popular-moods -H 'authorization: Bearer ${adminToken}'
  curl -s ${ready.url}/metrics | grep reprise_cache_requests_total
  REPRISE_URL=${admin} REPRISE_ADMIN_TOKEN=${adminToken} npm run reprise -- warm
`);
}

if (workers !== null) {
  // The primary: every worker takes the same admin token, so the printed one works whichever worker answers.
  const adminToken = process.env.REPRISE_ADMIN_TOKEN?.trim() || randomBytes(18).toString('base64url');
  const { runCluster } = await import('./cluster.js');
  runCluster({
    workers,
    env: { REPRISE_ADMIN_TOKEN: adminToken },
    started: (ready, pids) => printBanner(ready, adminToken, pids),
    log: (line) => console.log(`reprise demo: ${line}`),
  });
} else {
  // One process, or one worker of the cluster.
  const worker = cluster.worker;
  if (worker) {
    joinGroupMetrics();
    // Ctrl-C reaches every process of the terminal: the primary stops the workers (SIGTERM), in order.
    process.on('SIGINT', () => undefined);
  }
  const stopTracing = await startTracing(process.env);
  const { startDemo } = await import('./server.js');
  const demo = await startDemo({
    port,
    host,
    ...(worker ? { worker: worker.id, metricsHandler: groupMetricsHandler() } : {}),
  }).catch((error: NodeJS.ErrnoException) => {
    const hint = error.code === 'EADDRINUSE' ? ` (port ${port} is taken: set PORT to another one, e.g. PORT=3001 npm start)` : '';
    console.error(`reprise demo could not start: ${redactRedisUrl(error.message)}${hint}`);
    process.exit(1);
  });

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await demo.close();
    await stopTracing?.();
    process.exit(0);
  };
  process.on('SIGTERM', stop);

  const ready = { url: demo.url, simulatorUrl: demo.simulator?.url ?? null, cacheType: demo.reprise.cache.stats().cacheType };
  if (worker) {
    shareWithGroup(demo.reprise.telemetry.metrics.registry);
    const message: WorkerReady = { type: 'reprise-demo:ready', ...ready };
    process.send!(message);
  } else {
    process.on('SIGINT', stop);
    printBanner(ready, demo.adminToken);
  }
}

/** REDIS_URL as reprise parsed it, its password replaced whatever characters it holds. */
function describeRedisUrl(url: string): string {
  try {
    return parseRedisUrl(url).redacted;
  } catch {
    return '(REDIS_URL, unreadable)';
  }
}
