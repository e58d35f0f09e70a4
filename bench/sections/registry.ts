/**
 * Part 2: the ID registry. (a) A bulk check of 1000 IDs against the same answers got one ID at a time, on a
 * standalone Redis and a 3-master Cluster: time, round trips per node, commands the servers received.
 * (b) Redis bytes per ID over 100 000 IDs (missing IDs in filters and exact) against one key per ID
 * (bench/registry-footprint.ts does the measuring).
 */
import { createCacheParts } from '../../src/cache/create-cache.js';
import { silentLogger } from '../../src/logger.js';
import { IdRegistry } from '../../src/registry/id-registry.js';
import { BACKEND_NAMES, startBackend, type Backend } from '../../test/harness/backends.js';
import { commandStats, startRedisServer } from '../../test/harness/redis-servers.js';
import { countRoundTrips } from '../../test/registry/inspect.js';
import { BAR_BYTES_PER_MAPPING, BAR_BYTES_PER_MISSING, measureFootprint, sampleIds, type EntryFootprint, type Footprint } from '../registry-footprint.js';
import { markdownTable, ms, passOrMiss, ratio } from '../lib/format.js';
import type { BenchSettings } from '../lib/settings.js';
import { summarize, type Summary } from '../lib/stats.js';

const KEY_PREFIX = 'bench:';
const CHECKED_IDS = 1_000;
/** Commands of the client and the harness themselves, not of the registry. */
const HOUSEKEEPING = new Set(['info', 'cluster', 'command', 'ping', 'hello', 'client', 'select', 'readonly']);

export interface CheckRow {
  backend: Backend['name'];
  nodes: number;
  method: 'per-ID loop' | 'bulkCheckMissing';
  msPerCheck: Summary;
  /** Pipelines carrying registry keys per node, for one check of 1000 IDs (most loaded node). */
  roundTripsPerNode: number;
  commandsPerCheck: number;
  commandMix: Record<string, number>;
  /** Loop time ÷ bulk time in the same repetition, median; 1 for the loop itself. */
  speedupOverLoop: number;
  knownMissing: number;
  redisErrors: number;
}

export interface RegistryOutcome {
  checks: CheckRow[];
  footprint: Footprint | null;
  markdown: string;
}

export async function benchRegistry(settings: BenchSettings, log: (line: string) => void): Promise<RegistryOutcome> {
  const checks: CheckRow[] = [];
  for (const name of BACKEND_NAMES) {
    log(`  bulk check of ${CHECKED_IDS} IDs on ${name} Redis`);
    checks.push(...(await benchBulkCheck(name, settings.quick ? 5 : 15)));
  }
  const count = settings.quick ? 10_000 : 100_000;
  log(`  bytes per ID over ${count.toLocaleString('en')} IDs (this takes a while)`);
  const server = await startRedisServer();
  let footprint: Footprint | null = null;
  try {
    footprint = await measureFootprint(server, count);
  } finally {
    await server.destroy();
  }
  return { checks, footprint, markdown: registryMarkdown(checks, footprint) };
}

/** The bulk check against the per-ID loop on one backend, `repetitions` times each, alternating. */
export async function benchBulkCheck(name: Backend['name'], repetitions: number): Promise<CheckRow[]> {
  const backend = await startBackend(name);
  // A generous deadline: this measures cost, and a busy machine must not push a call into memory-only mode.
  const { cache, gateway, connectTimeoutMs } = createCacheParts({ redisUrl: backend.url, keyPrefix: KEY_PREFIX, logger: silentLogger, redisCommandTimeoutMs: 2_000 });
  try {
    if (!(await gateway.waitUntilReady(connectTimeoutMs))) throw new Error(`${name} Redis did not answer`);
    const writer = new IdRegistry({ gateway, keyPrefix: KEY_PREFIX, sweepIntervalMs: 0, logger: silentLogger });
    const { spotify, reccobeats } = sampleIds(3_000, 11);
    const missing = sampleIds(1_000, 12).spotify;
    await writer.bulkMarkValidated(spotify.map((id, index) => [id, reccobeats[index]!] as [string, string]));
    await writer.bulkMarkMissing(missing);
    await writer.close();
    // 400 known missing, 400 validated, 200 never seen; a fresh registry, so nothing is answered from its memory.
    const ids = [...missing.slice(0, 400), ...spotify.slice(0, 400), ...sampleIds(200, 13).spotify];
    const registry = new IdRegistry({ gateway, keyPrefix: KEY_PREFIX, sweepIntervalMs: 0, logger: silentLogger, memoryMaxEntries: 1 });

    const loop = async () => {
      const known: string[] = [];
      for (const id of ids) if (await registry.isKnownMissing(id)) known.push(id);
      return known;
    };
    const bulk = async () => (await registry.bulkCheckMissing(ids))[1];
    const methods = { 'per-ID loop': loop, bulkCheckMissing: bulk } as const;

    type Run = { ms: number; roundTrips: number[]; commands: Record<string, number>; knownMissing: number };
    const runs: Record<keyof typeof methods, Run[]> = { 'per-ID loop': [], bulkCheckMissing: [] };
    await loop();
    await bulk();
    for (let repetition = 0; repetition < repetitions; repetition++) {
      // Alternate which goes first, so a slow spell of the machine does not always land on the same one.
      const order = (repetition % 2 === 0 ? ['per-ID loop', 'bulkCheckMissing'] : ['bulkCheckMissing', 'per-ID loop']) as (keyof typeof methods)[];
      for (const method of order) {
        const before = dataCommands(backend);
        const started = performance.now();
        const { result, perNode } = await countRoundTrips(gateway.client!, KEY_PREFIX, methods[method]);
        const elapsed = performance.now() - started;
        runs[method].push({ ms: elapsed, roundTrips: perNode, commands: difference(before, dataCommands(backend)), knownMissing: result.length });
      }
    }
    await registry.close();

    const loopMs = runs['per-ID loop'].map((run) => run.ms);
    return (Object.keys(methods) as (keyof typeof methods)[]).map((method) => {
      const last = runs[method][runs[method].length - 1]!;
      const commandsPerCheck = Object.values(last.commands).reduce((sum, calls) => sum + calls, 0);
      return {
        backend: name,
        nodes: backend.servers.length,
        method,
        msPerCheck: summarize(runs[method].map((run) => run.ms)),
        roundTripsPerNode: Math.max(...runs[method].flatMap((run) => run.roundTrips)),
        commandsPerCheck,
        commandMix: last.commands,
        speedupOverLoop: summarize(runs[method].map((run, index) => loopMs[index]! / run.ms)).median,
        knownMissing: last.knownMissing,
        redisErrors: gateway.status().errors,
      };
    });
  } finally {
    await cache.close();
    await backend.destroy();
  }
}

/** Data commands received by all the backend's servers so far, per command. */
function dataCommands(backend: Backend): Record<string, number> {
  const total: Record<string, number> = {};
  for (const server of backend.servers) {
    for (const [command, calls] of Object.entries(commandStats(server))) {
      if (!HOUSEKEEPING.has(command)) total[command] = (total[command] ?? 0) + calls;
    }
  }
  return total;
}

function difference(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([command, calls]) => [command, calls - (before[command] ?? 0)]).filter(([, calls]) => (calls as number) > 0));
}

function registryMarkdown(checks: readonly CheckRow[], footprint: Footprint | null): string {
  const checkTable = markdownTable(
    ['backend', 'method', 'ms per check of 1000 IDs (median, min – max)', 'round trips per node', 'commands received', 'speed-up over the loop', 'known missing found'],
    checks.map((row) => [
      `${row.backend} (${row.nodes} node${row.nodes > 1 ? 's' : ''})`,
      row.method === 'per-ID loop' ? `**${row.method}** (baseline)` : row.method,
      `${ms(row.msPerCheck.median)} (${ms(row.msPerCheck.min)} – ${ms(row.msPerCheck.max)})`,
      String(row.roundTripsPerNode),
      `${row.commandsPerCheck} (${Object.entries(row.commandMix).map(([command, calls]) => `${command} ${calls}`).join(', ')})`,
      row.method === 'per-ID loop' ? '1x' : ratio(row.speedupOverLoop),
      String(row.knownMissing),
    ]),
  );
  const bulkRows = checks.filter((row) => row.method === 'bulkCheckMissing');
  const bar = bulkRows.map((row) => `- ${passOrMiss(row.roundTripsPerNode <= 1)}: a bulk check of 1000 IDs costs at most one round trip per Redis node: ${row.roundTripsPerNode} on ${row.backend}`);
  const lines = [
    'Registry check of 1000 IDs (400 known missing, 400 validated, 200 never seen), by a registry instance with an empty memory store (known-missing IDs in Bloom filters, the default):',
    '',
    checkTable,
    '',
    'Round trips: pipelines written to each node that carry registry keys, on the most loaded node. Commands: what the servers received (INFO commandstats), housekeeping excluded.',
    '',
    'SPEC bar:',
    ...bar,
  ];
  if (footprint) {
    const versus = (row: EntryFootprint, baseline: EntryFootprint) => `${row.bytesPerEntry.toFixed(1)} (${ratio(row.bytesPerEntry / baseline.bytesPerEntry)})`;
    lines.push(
      '',
      `Redis memory per ID over ${footprint.count.toLocaleString('en')} IDs of each kind (whole-server used_memory growth ÷ IDs, warm server, buffers drained; \`bench/registry-memory.ts\` adds 1,000,000 IDs and a Cluster):`,
      '',
      markdownTable(
        ['layout', 'bytes per validated mapping (both directions)', 'bytes per known-missing ID'],
        [
          ['**one key per ID** (baseline, a string key per direction with a TTL)', footprint.oneKeyPerId.mapping.bytesPerEntry.toFixed(1), footprint.oneKeyPerId.missing.bytesPerEntry.toFixed(1)],
          ['reprise registry, missing IDs in Bloom filters (default)', versus(footprint.mapping, footprint.oneKeyPerId.mapping), versus(footprint.missingBloom, footprint.oneKeyPerId.missing)],
          ['reprise registry, `missing: \'exact\'`', versus(footprint.mapping, footprint.oneKeyPerId.mapping), versus(footprint.missingExact, footprint.oneKeyPerId.missing)],
        ],
      ),
      '',
      `${footprint.mapping.keys + footprint.missingExact.keys} bucket keys (mappings, exact marks), ${footprint.mapping.hashtableBuckets + footprint.missingExact.hashtableBuckets} of them left the listpack encoding; the filters took ${footprint.missingBloom.keys} keys.`,
      '',
      'SPEC bars:',
      `- ${passOrMiss(footprint.missingBloom.bytesPerEntry <= BAR_BYTES_PER_MISSING)}: at most ${BAR_BYTES_PER_MISSING} bytes per known-missing ID: ${footprint.missingBloom.bytesPerEntry.toFixed(1)}`,
      `- ${passOrMiss(footprint.mapping.bytesPerEntry <= BAR_BYTES_PER_MAPPING)}: at most ${BAR_BYTES_PER_MAPPING} bytes per validated mapping: ${footprint.mapping.bytesPerEntry.toFixed(1)}`,
    );
  }
  return lines.join('\n');
}
