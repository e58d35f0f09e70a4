/**
 * `npx tsx bench/registry-memory.ts [count]`: Redis memory per ID registry entry, the registry's layout against
 * one key per ID, over 100 000 IDs by default. Starts its own redis-server on a free loopback port (never 6379)
 * and prints bytes per entry from INFO memory, with PASS/FAIL against the bars (120 per mapping, 40 per missing ID).
 */
import { spawnSync } from 'node:child_process';
import { startRedisServer } from '../test/harness/redis-servers.js';
import { BAR_BYTES_PER_MAPPING, BAR_BYTES_PER_MISSING, measureFootprint } from './registry-footprint.js';

const count = Number(process.argv[2] ?? 100_000);
if (!Number.isInteger(count) || count < 1_000) throw new Error(`count must be a whole number >= 1000, got ${process.argv[2]}`);

const version = /v=(\S+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? 'unknown';
const server = await startRedisServer();
console.log(`ID registry memory: ${count.toLocaleString('en')} IDs per kind, redis-server ${version} on 127.0.0.1:${server.port}`);
try {
  const result = await measureFootprint(server, count);
  const row = (label: string, registry: number, oneKey: number, bar: number) =>
    `${label.padEnd(36)} ${registry.toFixed(1).padStart(8)} ${oneKey.toFixed(1).padStart(14)} ${String(bar).padStart(6)}   ${registry <= bar ? 'PASS' : 'FAIL'}`;
  console.log(`\n${'bytes per entry (used_memory delta)'.padEnd(36)} ${'registry'.padStart(8)} ${'one key per ID'.padStart(14)} ${'bar'.padStart(6)}`);
  console.log(row('validated mapping (both directions)', result.registry.mapping, result.oneKeyPerId.mapping, BAR_BYTES_PER_MAPPING));
  console.log(row('known-missing ID', result.registry.missing, result.oneKeyPerId.missing, BAR_BYTES_PER_MISSING));
  console.log(`\nbucket keys: ${result.registry.buckets}, of which left listpack encoding: ${result.registry.hashtableBuckets}`);
  const pass = result.registry.mapping <= BAR_BYTES_PER_MAPPING && result.registry.missing <= BAR_BYTES_PER_MISSING;
  console.log(pass ? 'PASS' : 'FAIL');
  process.exitCode = pass ? 0 : 1;
} finally {
  await server.destroy();
}
