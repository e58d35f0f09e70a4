/**
 * `npx tsx bench/registry-memory.ts [--counts=100000,1000000] [--backends=standalone,cluster]`: Redis memory per ID
 * registry entry, whole-server used_memory (all masters of a Cluster), at each count on each backend: known-missing
 * IDs in Bloom filters (the default) and as exact entries, and validated mappings (both directions). Starts its own
 * redis-server processes on free loopback ports (never 6379); see registry-footprint.ts for how it measures.
 * Prints a table with PASS/FAIL against the SPEC bars (10 bytes per missing ID, 80 per mapping), writes
 * bench/results/registry-memory.{md,json}, and exits 1 when a bar is missed.
 */
import { BACKEND_NAMES, startBackend, type Backend } from '../test/harness/backends.js';
import { markdownTable, passOrMiss } from './lib/format.js';
import { describeMachine } from './lib/machine.js';
import { writeResults } from './lib/results.js';
import { BAR_BYTES_PER_MAPPING, BAR_BYTES_PER_MISSING, measureRegistry, type EntryFootprint } from './registry-footprint.js';

function listArgument(name: string, fallback: string[]): string[] {
  const given = process.argv.slice(2).find((arg) => arg.startsWith(`--${name}=`));
  return given ? given.slice(name.length + 3).split(',').filter(Boolean) : fallback;
}

const counts = listArgument('counts', ['100000', '1000000']).map(Number);
const backends = listArgument('backends', [...BACKEND_NAMES]) as Backend['name'][];
for (const count of counts) if (!Number.isInteger(count) || count < 1_000) throw new Error(`counts must be whole numbers >= 1000, got ${count}`);
for (const name of backends) if (!BACKEND_NAMES.includes(name)) throw new Error(`backends are ${BACKEND_NAMES.join(', ')}, got ${name}`);

const machine = describeMachine();
const log = (line: string) => process.stderr.write(`${line}\n`);
const rows: (EntryFootprint & { backend: string; nodes: number })[] = [];
const started = performance.now();

for (const name of backends) {
  const backend = await startBackend(name);
  try {
    for (const count of counts) {
      for (const measurement of [
        { kind: 'missing', count, mode: 'bloom' },
        { kind: 'missing', count, mode: 'exact' },
        { kind: 'mapping', count },
      ] as const) {
        log(`${name}: ${count.toLocaleString('en')} ${measurement.kind === 'mapping' ? 'validated mappings' : `missing IDs (${measurement.mode})`}`);
        // Each measurement warms the servers, then writes into emptied ones.
        rows.push({ backend: name, nodes: backend.servers.length, ...(await measureRegistry(backend, measurement)) });
      }
    }
  } finally {
    await backend.destroy();
  }
}

const barOf = (row: EntryFootprint) => (row.kind === 'mapping' ? BAR_BYTES_PER_MAPPING : row.mode === 'bloom' ? BAR_BYTES_PER_MISSING : null);
const table = markdownTable(
  ['backend', 'IDs', 'entry', 'bytes per entry (used_memory growth ÷ IDs)', 'keys', 'SPEC bar'],
  rows.map((row) => {
    const bar = barOf(row);
    return [
      `${row.backend} (${row.nodes} node${row.nodes > 1 ? 's' : ''})`,
      row.count.toLocaleString('en'),
      row.kind === 'mapping' ? 'validated mapping (both directions)' : `known-missing ID, ${row.mode === 'bloom' ? '**bloom** (default)' : 'exact'}`,
      row.bytesPerEntry.toFixed(1),
      row.keys.toLocaleString('en'),
      bar === null ? '' : `${passOrMiss(row.bytesPerEntry <= bar)} (at most ${bar})`,
    ];
  }),
);
const hashtable = rows.reduce((sum, row) => sum + row.hashtableBuckets, 0);
const markdown = [
  'Whole-server `used_memory` growth (every master of the Cluster summed) while N entries of one kind are written into',
  'an emptied server, divided by N. The servers are warm (every registry script already ran once, then FLUSHALL: the',
  "one-off cost of Lua, about 450 KB per node, is not spread over the IDs), and the writer's connection is closed and its",
  'buffers released before the second reading. Filters at their default capacity (100,000 IDs per generation) and',
  'rate (0.1%), all marks in one generation.',
  '',
  table,
  '',
  `${hashtable} registry bucket keys left the listpack encoding.`,
].join('\n');
console.log(`\n${markdown}\n`);
const command = `npx tsx bench/registry-memory.ts --counts=${counts.join(',')} --backends=${backends.join(',')}`;
const written = writeResults('registry-memory', 'reprise ID registry: Redis memory per ID', machine, command, { rows }, markdown);
log(`wrote ${written.markdown} and ${written.json} in ${((performance.now() - started) / 1_000).toFixed(0)} s`);
process.exitCode = rows.every((row) => barOf(row) === null || row.bytesPerEntry <= barOf(row)!) ? 0 : 1;
