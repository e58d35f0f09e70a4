/**
 * `npm run bench:outage`: how long reprise's cache calls take while its Redis is killed (SIGKILL) and while it
 * hangs (SIGSTOP), against the SPEC bar: every call answers within 100 ms and none fails. Starts its own
 * redis-server on a free loopback port; writes bench/results/outage.json and .md.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as pause } from 'node:timers/promises';
import { createCache, type Logger } from '../src/index.js';
import { pollUntil } from '../test/harness/redis-servers.js';
import { startBenchRedis } from './lib/bench-redis.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { OutageLoad } from './lib/outage-load.js';
import { OUTAGE_BAR_MS, outageMarkdown, summarizeOutage, type PhaseWindow } from './lib/outage-report.js';
import { writeResults } from './lib/results.js';

const quick = process.argv.includes('--quick');
const PHASE_MS = quick ? 1_500 : 4_000;
const WORKERS = 8;
const PACING_MS = 2;

const machine = describeMachine();
const warnings: string[] = [];
const logger: Logger = { debug() {}, info() {}, warn: (message) => warnings.push(message), error: (message) => warnings.push(message) };
const server = await startBenchRedis();
const cache = await createCache({ redisUrl: server.url, keyPrefix: 'outage:', logger, memory: { maxEntries: 10_000 } });
if (cache.stats().cacheType !== 'redis') throw new Error('the cache did not reach the bench Redis');

const load = new OutageLoad(cache, WORKERS, PACING_MS);
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
const windows: PhaseWindow[] = [];

/** Runs the load under `phase` for `ms`, or until `until` holds; notes the event loop's worst stall meanwhile. */
async function phase(name: string, ms: number, until?: () => boolean): Promise<void> {
  load.phase = name;
  loopDelay.reset();
  const started = performance.now();
  if (until) await pollUntil(until, `${name} to end`, () => false, 60_000);
  else await pause(ms);
  windows.push({ phase: name, ms: performance.now() - started, eventLoopMaxMs: loopDelay.max / 1e6, backendAtEnd: cache.stats().cacheType });
}

const backIn = () => cache.stats().cacheType === 'redis';
let servedFromMemory = 0;
console.log(`bench:outage on ${machineLine(machine)}: ${WORKERS} workers, phases of ${PHASE_MS} ms`);
try {
  await load.prime();
  loopDelay.enable();
  load.start();
  await phase('healthy', PHASE_MS);
  await server.kill();
  await phase('killed (SIGKILL)', PHASE_MS);
  await server.start();
  await phase('restarted, until back on Redis', 0, backIn);
  await phase('back on Redis', PHASE_MS / 2);
  server.pause();
  await phase('hung (SIGSTOP)', PHASE_MS);
  server.resume();
  await phase('resumed, until back on Redis', 0, backIn);
  await phase('back on Redis again', PHASE_MS / 2);
  await load.stop();
  loopDelay.disable();
  servedFromMemory = cache.stats().categories.recommendations.memory.hits;
} finally {
  server.resume();
  await cache.close();
  await server.destroy();
}

// Only the memory-hit calls read 'recommendations' keys that exist: its memory hits must match their count.
const memoryHitCalls = load.records.filter((record) => record.kind === 'get (memory hit)').length;
const summary = summarizeOutage(load.records, windows);
const markdown = `${outageMarkdown(summary, windows)}\n\nMemory-hit calls answered from memory: ${servedFromMemory} of ${memoryHitCalls}.`;
console.log(`\n${markdown}`);
const command = `npm run bench:outage${quick ? ' -- --quick' : ''}`;
const written = writeResults('outage', 'reprise with Redis killed and hung', machine, command, { barMs: OUTAGE_BAR_MS, windows, summary, memoryHitCalls, servedFromMemory, warnings }, markdown);
console.error(`wrote ${written.markdown} and ${written.json}`);
process.exitCode = summary.pass ? 0 : 1;
