/**
 * `npm start`: runs the demo back end and tells a newcomer what to try.
 *   PORT (default 3000), REDIS_URL (unset: memory only), RECCOBEATS_BASE_URL (unset: the simulator),
 *   REPRISE_ADMIN_TOKEN (unset: a random one, printed), OTEL_EXPORTER_OTLP_ENDPOINT (set: traces are exported).
 */
import { redactRedisUrl } from '../../src/redis/redact.js';
import { startTracing } from './tracing.js';

const HELP = `reprise demo: an Express back end that turns mood prompts into playlists through reprise.

Usage: npm start [-- --help]

Environment:
  PORT                          port to listen on (default 3000)
  HOST                          address to listen on (default 127.0.0.1)
  REDIS_URL                     redis://host:port, rediss://... (TLS), a comma-separated Cluster node list, or
                                redis+sentinel://s1:26379,s2:26379/<master-name>; unset: reprise runs in memory only
  REDIS_TLS_CA_FILE             PEM file of the CAs trusted for rediss:// (default: Node's)
  REDIS_SENTINEL_PASSWORD       the sentinels' own password, when they require one
  RECCOBEATS_BASE_URL           the ReccoBeats API; unset: a local simulator with a synthetic catalog
  REPRISE_ADMIN_TOKEN           bearer token of the admin routes; unset: a random one, printed below
  OTEL_EXPORTER_OTLP_ENDPOINT   e.g. http://127.0.0.1:4318: export traces over OTLP/HTTP
`;

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(HELP);
  process.exit(0);
}

const stopTracing = await startTracing(process.env);
const { startDemo } = await import('./server.js');
const port = Number(process.env.PORT ?? 3000);
const demo = await startDemo({ port, host: process.env.HOST ?? '127.0.0.1' }).catch((error: NodeJS.ErrnoException) => {
  const hint = error.code === 'EADDRINUSE' ? ` (port ${port} is taken: set PORT to another one, e.g. PORT=3001 npm start)` : '';
  console.error(`reprise demo could not start: ${redactRedisUrl(error.message)}${hint}`);
  process.exit(1);
});
const redisUrl = process.env.REDIS_URL?.trim();
const admin = `${demo.url}/api/agents/system`;

console.log(`
reprise demo listening on ${demo.url}
  ReccoBeats: ${demo.simulator ? `SIMULATOR at ${demo.simulator.url} (synthetic catalog; set RECCOBEATS_BASE_URL for the real API)` : process.env.RECCOBEATS_BASE_URL}
  cache:      ${redisUrl ? `Redis at ${redactRedisUrl(redisUrl)} (now serving from ${demo.reprise.cache.stats().cacheType})` : 'memory only (set REDIS_URL to share and keep it)'}
  tracing:    ${stopTracing ? `OTLP to ${process.env.OTEL_EXPORTER_OTLP_ENDPOINT}` : 'off (set OTEL_EXPORTER_OTLP_ENDPOINT to export traces)'}
  admin token: ${demo.adminToken}

Try:
  curl -s -X POST ${demo.url}/api/playlists -H 'content-type: application/json' -d '{"userId":"ada","moodPrompt":"rainy sunday coding"}'
  curl -s ${admin}/cache/stats -H 'authorization: Bearer ${demo.adminToken}'
  curl -s -X POST ${admin}/cache/warm-popular-moods -H 'authorization: Bearer ${demo.adminToken}'
  curl -s ${demo.url}/metrics | grep reprise_cache_requests_total
`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await demo.close();
  await stopTracing?.();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
