/** Turns the libraries' raw round samples into the side-by-side table and the SPEC bar checks. */
import { SCENARIO_TITLES, type PlannedRow } from './plan.js';
import type { ScenarioName } from './workload.js';
import type { CaseResult } from './protocol.js';
import { markdownTable, passOrMiss, percent, ratio, si } from './format.js';
import { summarize, type Summary } from './stats.js';
import type { BenchSettings } from './settings.js';

/** Slices each round is cut into, the contenders taking turns slice by slice (sections/libraries.ts). */
export const ROUND_SLICES = 5;

export interface RowOutcome {
  /** ops/s per round; index = round number, so rows of one scenario pair up round by round. */
  samples: number[];
  result?: CaseResult;
  error?: string;
}

export interface MeasuredRow extends PlannedRow {
  setup: string;
  samples: number[];
  summary: Summary;
  /**
   * Time per operation relative to the scenario's baseline (1 = as fast, 2 = twice as slow): the median over rounds
   * of baseline ops/s divided by this row's ops/s in the same round, with its interquartile range.
   */
  costVsBaseline: number;
  costRange: [number, number];
  /**
   * For a row with `versus`: its time per operation over that row's, paired round by round (the other row's ops/s
   * divided by this row's in the same round), median and interquartile range; rounds = how many pairs.
   */
  costVsVersus?: { median: number; range: [number, number]; rounds: number };
  redisCommandsPerOp: Record<string, number>;
  evidence: Record<string, number | string>;
  error?: string;
}

export interface BarCheck {
  bar: string;
  measured: string;
  pass: boolean;
  /** For a bar on a ratio: whether its interquartile range is narrower than the median's distance to the limit. */
  settled?: boolean;
  why?: string;
}

/** `reference` ops/s ÷ `samples` ops/s, round by round, for the rounds both have. */
function pairedCost(samples: readonly number[], reference: readonly number[]): number[] {
  return samples
    .map((sample, round) => (reference[round] !== undefined ? reference[round]! / sample : Number.NaN))
    .filter(Number.isFinite);
}

export function measureRows(plan: readonly PlannedRow[], outcomes: ReadonlyMap<PlannedRow, RowOutcome>): MeasuredRow[] {
  const baselineOf = (row: PlannedRow) => plan.find((candidate) => candidate.scenario === row.scenario && candidate.role === 'baseline');
  const versusOf = (row: PlannedRow) => plan.find((candidate) => candidate.scenario === row.scenario && candidate.label === row.versus);
  return plan.map((row): MeasuredRow => {
    const outcome = outcomes.get(row) ?? { samples: [] };
    const baseline = outcomes.get(baselineOf(row)!)?.samples ?? [];
    const cost = summarize(pairedCost(outcome.samples, baseline));
    const versus = row.versus === undefined ? undefined : versusOf(row);
    if (row.versus !== undefined && !versus) throw new Error(`plan row ${row.label} (${row.scenario}) is set against ${row.versus}, which that scenario does not have`);
    const againstVersus = versus ? summarize(pairedCost(outcome.samples, outcomes.get(versus)?.samples ?? [])) : undefined;
    return {
      ...row,
      setup: outcome.result?.setup ?? '',
      samples: outcome.samples.filter(Number.isFinite),
      summary: summarize(outcome.samples.filter(Number.isFinite)),
      costVsBaseline: cost.median,
      costRange: [cost.p25, cost.p75],
      ...(againstVersus ? { costVsVersus: { median: againstVersus.median, range: [againstVersus.p25, againstVersus.p75], rounds: againstVersus.samples } } : {}),
      redisCommandsPerOp: outcome.result?.redisCommandsPerOp ?? {},
      evidence: outcome.result?.evidence ?? {},
      ...(outcome.error !== undefined ? { error: outcome.error } : {}),
    };
  });
}

/**
 * Rivals held to "reprise is ahead": the scenarios where they do the work reprise does. cache-manager's tiered set
 * tells no other instance about the change, so it is shown but not held to the bar there.
 */
const SAME_WORK: ReadonlyArray<{ scenario: ScenarioName; caseFile: string }> = [
  { scenario: 'redis-get-hit', caseFile: 'bentocache' },
  { scenario: 'redis-get-hit', caseFile: 'cache-manager' },
  { scenario: 'tiered-set', caseFile: 'bentocache' },
];

export function libraryBars(rows: readonly MeasuredRow[]): BarCheck[] {
  // The bars hold for each library as shipped: rows that are another setting of a contender (`versus`) are left out.
  const find = (scenario: string, caseFile: string, variant?: string) =>
    rows.find((row) => row.scenario === scenario && row.caseFile === caseFile && row.versus === undefined && (!variant || row.variant === variant));
  const checks: BarCheck[] = [];
  const l1 = find('l1-get-hit', 'reprise');
  const floor = find('l1-get-hit', 'bare', 'lru-get-async');
  if (l1 && floor) {
    const check = limitCheck(pairedCost(l1.samples, floor.samples), 1.5);
    checks.push({
      ...check,
      bar: 'L1 hit <= 1.5x an awaited lru-cache get (instrumentation included)',
      measured: `${check.measured}; ${ratio(l1.costVsBaseline)} of a synchronous lru-cache get`,
    });
  }
  const redis = find('redis-get-hit', 'reprise');
  const bareGet = find('redis-get-hit', 'bare');
  if (redis && bareGet) {
    const check = limitCheck(pairedCost(redis.samples, bareGet.samples), 1.15);
    // The same GET followed by JSON.parse: how much of the gap any cache that hands back objects pays.
    const parsed = find('redis-get-hit', 'bare', 'ioredis-get-parse');
    const floor = parsed && !parsed.error ? `; the same GET + JSON.parse costs ${ratio(parsed.costVsBaseline)}` : '';
    checks.push({ ...check, bar: 'Redis hit <= 1.15x a bare ioredis GET of a value of the same size', measured: `${check.measured}${floor}` });
  }
  for (const { scenario, caseFile } of SAME_WORK) {
    const ours = find(scenario, 'reprise');
    const rival = find(scenario, caseFile);
    if (!ours || !rival || rival.error) continue;
    checks.push({
      ...limitCheck(pairedCost(ours.samples, rival.samples), 1, { strict: true }),
      bar: `${SCENARIO_TITLES[scenario]}: reprise ahead of ${rival.label} (its time per operation over ${rival.label}'s, same round, < 1x)`,
    });
  }
  const storm = find('get-or-set-storm', 'reprise');
  if (storm) {
    const calls = Number(storm.evidence.mostFactoryCallsInOneStorm);
    checks.push({
      bar: 'N concurrent misses on one key: one factory call per process',
      measured: `at most ${calls} factory call(s) per storm of 1000 over ${storm.evidence.storms} storms`,
      pass: calls === 1 && Number(storm.evidence.wrongAnswers) === 0,
    });
  }
  return checks;
}

/**
 * A bar on a ratio paired round by round: the verdict is the median's, and it is settled when the interquartile
 * range of the rounds is narrower than the margin the verdict claims (the distance from the median to the limit).
 */
function limitCheck(costs: readonly number[], limit: number, { strict = false } = {}): Pick<BarCheck, 'measured' | 'pass' | 'settled'> {
  const { median, p25, p75, samples } = summarize(costs);
  const pass = strict ? median < limit : median <= limit;
  const width = p75 - p25;
  const margin = Math.abs(limit - median);
  const settled = samples > 0 && width < margin;
  const spread = `IQR ${ratio(p25)} – ${ratio(p75)}, ${samples} rounds`;
  const verdict = `IQR ${width.toFixed(2)} wide, ${margin.toFixed(2)} from the ${limit}x limit: ${settled ? 'settled' : 'not settled'}`;
  return { measured: `${ratio(median)} (${spread}; ${verdict})`, pass, settled };
}

export function librariesMarkdown(rows: readonly MeasuredRow[], bars: readonly BarCheck[], settings: BenchSettings, placement: string): string {
  const table = markdownTable(
    ['scenario', 'library', 'ops/s (median)', 'min – max', 'IQR', 'cost vs baseline (IQR)', 'Redis commands per op', 'checks'],
    rows.map((row) => [
      row.role === 'baseline' ? SCENARIO_TITLES[row.scenario] : '',
      row.role === 'baseline' ? `**${row.label}** (baseline)` : row.label,
      row.error ? 'failed' : si(row.summary.median),
      row.error ? '' : `${si(row.summary.min)} – ${si(row.summary.max)}`,
      row.error ? '' : percent(row.summary.iqrShare),
      row.error || row.role === 'baseline' ? (row.error ? '' : '1x') : `${ratio(row.costVsBaseline)} (${ratio(row.costRange[0])} – ${ratio(row.costRange[1])})`,
      commandsText(row.redisCommandsPerOp),
      evidenceText(row),
    ]),
  );
  const settingsTable = settingsComparison(rows);
  const barLines = bars.map((check) => `- ${passOrMiss(check.pass)}: ${check.bar}: ${check.measured}${check.why ? ` (${check.why})` : ''}`);
  const setups = rows.map((row) => `- ${SCENARIO_TITLES[row.scenario]}, ${row.label}: ${row.error ? `FAILED: ${row.error.split('\n')[0]}` : row.setup}`);
  const method =
    `${settings.rounds} rounds of ~${settings.roundMs} ms per contender after ${settings.warmupMs} ms of warm-up, each contender in its own ` +
    `process; ${placement}. The contenders of a scenario take turns within each round, in ${ROUND_SLICES} slices each, interleaved, so they are measured over the same stretch of time. Cost = baseline ops/s ÷ contender ops/s in the same round, median over rounds. ` +
    'A bar on a ratio takes the ratio round by round against its reference (the baseline, the awaited lru-cache get, or the rival) and is settled ' +
    'when the interquartile range of those ratios is narrower than the median\'s distance to its limit. reprise is held to being ahead of bentocache and ' +
    'cache-manager where they do the same work: the Redis hit, and the tiered set with its announcement to other instances (bentocache only: ' +
    "cache-manager's set tells no other instance).";
  return [table, '', method, ...(settingsTable ? ['', settingsTable] : []), '', 'SPEC bars:', ...barLines, '', 'How each contender was set up:', ...setups].join('\n');
}

/** Rows that are another setting of a contender, against that contender in the same rounds. */
function settingsComparison(rows: readonly MeasuredRow[]): string {
  const compared = rows.filter((row) => row.costVsVersus && row.costVsVersus.rounds > 0 && !row.error);
  if (compared.length === 0) return '';
  const table = markdownTable(
    ['scenario', 'row', 'against', 'time per op, same round (IQR)', 'rounds', 'ops/s (median)'],
    compared.map((row) => {
      const other = rows.find((candidate) => candidate.scenario === row.scenario && candidate.label === row.versus);
      const { median, range, rounds } = row.costVsVersus!;
      return [
        SCENARIO_TITLES[row.scenario],
        row.label,
        row.versus!,
        `${ratio(median)} (${ratio(range[0])} – ${ratio(range[1])})`,
        String(rounds),
        `${si(row.summary.median)} against ${other ? si(other.summary.median) : 'n/a'}`,
      ];
    }),
  );
  return `One setting against another, paired round by round (below 1x: the first row is faster):\n\n${table}`;
}

function commandsText(perOp: Record<string, number>): string {
  const shown = Object.entries(perOp)
    .filter(([, calls]) => calls >= 0.0005)
    .sort((a, b) => b[1] - a[1])
    .map(([command, calls]) => `${command} ${Number(calls.toPrecision(2))}`);
  return shown.length ? shown.join(', ') : '0';
}

/** The counts that prove the row measured what it claims, in a few words. */
function evidenceText(row: MeasuredRow): string {
  const e = row.evidence;
  const pipelining = e.autoPipelining === undefined ? '' : `, auto-pipelining ${e.autoPipelining}`;
  if (row.scenario === 'get-or-set-storm' && e.storms !== undefined) {
    return `factory calls per storm ${Number(Number(e.factoryCallsPerStorm).toPrecision(3))}, wrong answers ${e.wrongAnswers}${pipelining}`;
  }
  if (e.memoryHits !== undefined) {
    return `memory hits ${si(Number(e.memoryHits))}, Redis hits ${si(Number(e.redisHits))}, Redis errors ${e.redisErrors}${pipelining}`;
  }
  if (e.hits !== undefined) return `hits ${si(Number(e.hits))}, misses ${e.misses}`;
  return '';
}
