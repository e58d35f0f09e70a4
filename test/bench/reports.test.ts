/** The verdicts the bench prints: paired ratios per round, the SPEC bars, and the outage bar per phase. */
import { describe, expect, it } from 'vitest';
import { libraryBars, measureRows, type RowOutcome } from '../../bench/lib/libraries-report.js';
import { PLAN, type PlannedRow } from '../../bench/lib/plan.js';
import { summarizeOutage } from '../../bench/lib/outage-report.js';
import type { CallRecord } from '../../bench/lib/outage-load.js';

const rowOf = (scenario: PlannedRow['scenario'], caseFile: string, variant?: string) =>
  PLAN.find((row) => row.scenario === scenario && row.caseFile === caseFile && (!variant || row.variant === variant))!;

function result(row: PlannedRow, evidence: Record<string, number | string> = {}) {
  return { variant: row.variant, scenario: row.scenario, setup: 'test', redisCommandsPerOp: {}, evidence };
}

describe('side-by-side figures', () => {
  it('prices each contender round by round against the baseline of the same round', () => {
    const baseline = rowOf('l1-get-hit', 'bare', 'lru-get');
    const reprise = rowOf('l1-get-hit', 'reprise');
    const outcomes = new Map<PlannedRow, RowOutcome>([
      // The machine slows down by 10x in round 2; the ratio of that round stays 4.
      [baseline, { samples: [400, 40, 400], result: result(baseline) }],
      [reprise, { samples: [100, 10, 50], result: result(reprise) }],
    ]);
    const rows = measureRows(PLAN, outcomes);
    const measured = rows.find((row) => row.variant === reprise.variant && row.caseFile === 'reprise')!;
    expect(measured.costVsBaseline).toBe(4);
    expect(measured.costRange).toEqual([4, 6]);
    expect(rows[0]!.costVsBaseline).toBe(1);
  });

  it('checks the SPEC bars: L1 within 1.5x of an awaited get, Redis within 1.15x, ahead of the rivals doing the same work, one factory call per storm', () => {
    const pairs: [PlannedRow, number[], Record<string, number | string>][] = [
      [rowOf('l1-get-hit', 'bare', 'lru-get'), [300, 300, 300, 300], {}],
      [rowOf('l1-get-hit', 'bare', 'lru-get-async'), [200, 200, 200, 200], {}],
      [rowOf('l1-get-hit', 'reprise'), [100, 100, 100, 100], {}],
      [rowOf('redis-get-hit', 'bare'), [110, 110, 110, 110], {}],
      [rowOf('redis-get-hit', 'reprise'), [100, 100, 100, 100], {}],
      [rowOf('redis-get-hit', 'bentocache'), [90, 95, 100, 120], {}],
      [rowOf('redis-get-hit', 'cache-manager'), [80, 80, 80, 80], {}],
      [rowOf('tiered-set', 'bare'), [100, 100, 100, 100], {}],
      [rowOf('tiered-set', 'reprise'), [50, 50, 50, 50], {}],
      [rowOf('tiered-set', 'bentocache'), [60, 60, 60, 60], {}],
      [rowOf('tiered-set', 'cache-manager'), [90, 90, 90, 90], {}],
      [rowOf('get-or-set-storm', 'bare'), [1, 1], { storms: 9, mostFactoryCallsInOneStorm: 1_000, wrongAnswers: 0 }],
      [rowOf('get-or-set-storm', 'reprise'), [50, 50], { storms: 9, mostFactoryCallsInOneStorm: 2, wrongAnswers: 0 }],
    ];
    const outcomes = new Map(pairs.map(([row, samples, evidence]) => [row, { samples, result: result(row, evidence) }] as const));
    const bars = libraryBars(measureRows(PLAN, outcomes));
    expect(bars.map((bar) => [bar.bar, bar.pass, bar.settled])).toEqual([
      ['L1 hit <= 1.5x an awaited lru-cache get (instrumentation included)', false, true],
      ['Redis hit <= 1.15x a bare ioredis GET of a value of the same size', true, true],
      ["Redis get hit (L1 off or cold): reprise ahead of bentocache (its time per operation over bentocache's, same round, < 1x)", true, false],
      ["Redis get hit (L1 off or cold): reprise ahead of cache-manager 7 (its time per operation over cache-manager 7's, same round, < 1x)", true, true],
      ["tiered set, ~1 KB value with a Date: reprise ahead of bentocache (its time per operation over bentocache's, same round, < 1x)", false, true],
      ['N concurrent misses on one key: one factory call per process', false, undefined],
    ]);
    expect(bars[0]!.measured).toBe('2.00x (IQR 2.00x – 2.00x, 4 rounds; IQR 0.00 wide, 0.50 from the 1.5x limit: settled); 3.00x of a synchronous lru-cache get');
    expect(bars[2]!.measured).toBe('0.97x (IQR 0.94x – 1.05x, 4 rounds; IQR 0.11 wide, 0.03 from the 1x limit: not settled)');
  });
});

describe('outage verdict', () => {
  const call = (phase: string, ms: number, failed = false): CallRecord => ({ phase, kind: 'set', ms, failed });
  const windows = ['healthy', 'killed (SIGKILL)', 'hung (SIGSTOP)'].map((phase) => ({ phase, ms: 1_000, eventLoopMaxMs: 1, backendAtEnd: 'memory' }));

  it('applies the 100 ms bar to calls made while Redis is down or hung, not while it is healthy', () => {
    const summary = summarizeOutage([call('healthy', 250), call('killed (SIGKILL)', 3), call('hung (SIGSTOP)', 51)], windows);
    expect(summary.rows.map((row) => [row.phase, row.pass])).toEqual([
      ['healthy', null],
      ['killed (SIGKILL)', true],
      ['hung (SIGSTOP)', true],
    ]);
    expect(summary.pass).toBe(true);
  });

  it('fails on one slow call or one rejected call during the outage', () => {
    expect(summarizeOutage([call('hung (SIGSTOP)', 100.4)], windows).pass).toBe(false);
    expect(summarizeOutage([call('killed (SIGKILL)', 1, true)], windows).pass).toBe(false);
  });
});
