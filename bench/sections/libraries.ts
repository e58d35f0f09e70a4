/**
 * Part 1: reprise side by side with bare lru-cache, bare ioredis, bentocache and cache-manager 7. Every contender
 * runs in its own process against one redis-server; the contenders of a scenario take turns in a rotating order, so
 * slow spells of this shared machine hit them all alike and each round gives a paired ratio. A round is run as
 * SLICES short slices per contender, interleaved (A B C A B C ...): the contenders of a round are then measured over
 * the same stretch of time, not one after the other, and a slow spell of a second falls on all of them.
 */
import { CaseProcess } from '../lib/child.js';
import { startBenchRedis } from '../lib/bench-redis.js';
import { ROUND_SLICES as SLICES, libraryBars, librariesMarkdown, measureRows, type BarCheck, type MeasuredRow, type RowOutcome } from '../lib/libraries-report.js';
import { PLAN, type PlannedRow } from '../lib/plan.js';
import type { BenchSettings } from '../lib/settings.js';
import { choosePlacement, pinProcess, placementText, type Placement } from '../lib/placement.js';
import type { RedisServer } from '../../test/harness/redis-servers.js';

export interface LibrariesOutcome {
  rows: MeasuredRow[];
  bars: BarCheck[];
  markdown: string;
}

export async function benchLibraries(settings: BenchSettings, log: (line: string) => void): Promise<LibrariesOutcome> {
  const server = await startBenchRedis();
  const placement = choosePlacement();
  const outcomes = new Map<PlannedRow, RowOutcome>();
  const plan = PLAN.filter((row) => settings.scenarios.includes(row.scenario));
  try {
    if (placement) pinProcess(server.pid, placement.serverCpu);
    for (const scenario of new Set(plan.map((row) => row.scenario))) {
      log(`  ${scenario}`);
      const rows = plan.filter((row) => row.scenario === scenario);
      for (const [row, outcome] of await benchScenario(rows, server, placement, settings, log)) outcomes.set(row, outcome);
    }
  } finally {
    await server.destroy();
  }
  const rows = measureRows(plan, outcomes);
  const bars = libraryBars(rows);
  return { rows, bars, markdown: librariesMarkdown(rows, bars, settings, placementText(placement)) };
}

async function benchScenario(
  rows: readonly PlannedRow[],
  server: RedisServer,
  placement: Placement | null,
  settings: BenchSettings,
  log: (line: string) => void,
): Promise<Map<PlannedRow, RowOutcome>> {
  const outcomes = new Map<PlannedRow, RowOutcome>(rows.map((row) => [row, { samples: [] }]));
  const fail = (row: PlannedRow, error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    outcomes.get(row)!.error = message;
    log(`    ${row.label}: ${message}`);
  };
  const processes = new Map<PlannedRow, CaseProcess>();
  for (const row of rows) {
    const tag = optionsTag(row);
    const contender = new CaseProcess(`${row.caseFile}/${row.variant}${tag}`, row.caseFile, {
      variant: row.variant,
      redisUrl: server.url,
      // Rows that differ only by their options get keys (and invalidation channels) of their own.
      keyPrefix: `bench-${row.caseFile}-${row.variant}${tag}:`,
      options: { ...row.options },
      warmupMs: settings.warmupMs,
      roundMs: settings.roundMs / SLICES,
    });
    processes.set(row, contender);
    if (placement) pinProcess(contender.pid, placement.contenderCpu);
  }
  const alive = () => rows.filter((row) => outcomes.get(row)!.error === undefined);
  try {
    await Promise.all(rows.map((row) => processes.get(row)!.ready().catch((error) => fail(row, error))));
    for (const row of alive()) await processes.get(row)!.warmUp().catch((error) => fail(row, error));
    for (let round = 0; round < settings.rounds; round++) {
      // Each slice runs the same number of operations per contender: the round's rate is the harmonic mean.
      const secondsPerOp = new Map<PlannedRow, number>();
      for (let slice = 0; slice < SLICES; slice++) {
        for (const row of rotate(alive(), round + slice)) {
          try {
            const opsPerSecond = await processes.get(row)!.round();
            secondsPerOp.set(row, (secondsPerOp.get(row) ?? 0) + 1 / opsPerSecond);
          } catch (error) {
            fail(row, error);
          }
        }
      }
      for (const row of alive()) outcomes.get(row)!.samples[round] = SLICES / secondsPerOp.get(row)!;
    }
    for (const row of alive()) {
      try {
        outcomes.get(row)!.result = await processes.get(row)!.finish();
      } catch (error) {
        fail(row, error);
      }
    }
  } finally {
    for (const child of processes.values()) child.kill();
  }
  return outcomes;
}

/** `-redisAutoPipelining-true` for a row with options, '' for one without. */
function optionsTag(row: PlannedRow): string {
  return Object.entries(row.options ?? {}).map(([name, value]) => `-${name}-${String(value)}`).join('');
}

function rotate<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return [];
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}
