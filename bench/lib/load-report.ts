/**
 * The figures of `bench:load`: per scenario, what autocannon saw over HTTP and what the hosts' caches counted,
 * checked against the SPEC bars (healthy and saturated: no command timeout, no circuit opening, about one
 * computation per distinct key; every scenario: no failed request).
 */
import { markdownTable, ms, ratio, si } from './format.js';
import type { HostSnapshot, RedisTierStats } from './load-protocol.js';
import type { Scenario } from './load-settings.js';
import { median } from './stats.js';

/** Computations per distinct key allowed under healthy and saturated load ("about once across all processes"). */
export const COMPUTATIONS_PER_KEY_BAR = 1.1;

/** What autocannon reported for a scenario, over every host. */
export interface HttpOutcome {
  /** Connections opened in all (the scenario's, shared out evenly over the hosts). */
  connections: number;
  /** Responses received. */
  requests: number;
  durationS: number;
  non2xx: number;
  /** Connection errors, timeouts included. */
  errors: number;
  /** Requests that got no answer within autocannon's timeout (also in `errors`). */
  timeouts: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface RedisCounters {
  timeouts: number;
  errors: number;
  skipped: number;
  circuitOpenings: number;
  /** 'engine' when stats() counts openings, 'sampled' when the host watched the breaker itself. */
  openingsSource: 'engine' | 'sampled';
  /** null when the engine does not count errors by reason. */
  errorsByReason: Record<string, number> | null;
  refusedWrites: number | null;
}

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/** Reads a host snapshot's Redis counters, whichever of the optional fields its engine has. */
export function redisCounters(snapshot: Pick<HostSnapshot, 'stats' | 'sampledOpenings'>): RedisCounters {
  const redis: RedisTierStats = snapshot.stats?.tiers?.redis ?? {};
  const engineOpenings = typeof redis.circuitOpenings === 'number';
  const byReason = redis.errorsByReason && typeof redis.errorsByReason === 'object'
    ? Object.fromEntries(Object.entries(redis.errorsByReason).map(([reason, n]) => [reason, count(n)]))
    : null;
  const refused = redis.refusedWrites;
  return {
    timeouts: count(redis.timeouts),
    errors: count(redis.errors),
    skipped: count(redis.skipped),
    circuitOpenings: engineOpenings ? count(redis.circuitOpenings) : count(snapshot.sampledOpenings),
    openingsSource: engineOpenings ? 'engine' : 'sampled',
    errorsByReason: byReason,
    refusedWrites: typeof refused === 'number' ? refused
      : refused && typeof refused === 'object' ? Object.values(refused).reduce((sum: number, n) => sum + count(n), 0)
        : null,
  };
}

/** What happened between two snapshots of one host. */
export function counterDelta(before: RedisCounters, after: RedisCounters): RedisCounters {
  let errorsByReason: Record<string, number> | null = null;
  if (after.errorsByReason) {
    errorsByReason = {};
    for (const [reason, n] of Object.entries(after.errorsByReason)) errorsByReason[reason] = n - (before.errorsByReason?.[reason] ?? 0);
  }
  return {
    timeouts: after.timeouts - before.timeouts,
    errors: after.errors - before.errors,
    skipped: after.skipped - before.skipped,
    circuitOpenings: after.circuitOpenings - before.circuitOpenings,
    openingsSource: after.openingsSource,
    errorsByReason,
    refusedWrites: after.refusedWrites === null ? null : after.refusedWrites - (before.refusedWrites ?? 0),
  };
}

export function sumCounters(deltas: readonly RedisCounters[]): RedisCounters {
  const sum = (pick: (c: RedisCounters) => number) => deltas.reduce((total, c) => total + pick(c), 0);
  const reasons = deltas.some((c) => c.errorsByReason) ? {} as Record<string, number> : null;
  for (const delta of deltas) for (const [reason, n] of Object.entries(delta.errorsByReason ?? {})) reasons![reason] = (reasons![reason] ?? 0) + n;
  return {
    timeouts: sum((c) => c.timeouts),
    errors: sum((c) => c.errors),
    skipped: sum((c) => c.skipped),
    circuitOpenings: sum((c) => c.circuitOpenings),
    openingsSource: deltas.every((c) => c.openingsSource === 'engine') ? 'engine' : 'sampled',
    errorsByReason: reasons,
    refusedWrites: deltas.some((c) => c.refusedWrites !== null) ? sum((c) => c.refusedWrites ?? 0) : null,
  };
}

export interface BarCheck {
  bar: string;
  measured: string;
  pass: boolean;
}

export interface ScenarioResult {
  name: string;
  label: string;
  /** The hosts' auto-pipelining during this run, as they read it from their Redis client. */
  autoPipelining?: 'on' | 'off';
  /** With `--auto-pipelining=both`: which pair of runs (from 1) this one belongs to. */
  pair?: number;
  kind: Scenario['kind'];
  connections: number;
  pipelining: number;
  requests: number;
  durationS: number;
  requestsPerSecond: number;
  failed: number;
  http: HttpOutcome;
  p50Ms: number;
  p99Ms: number;
  redis: RedisCounters;
  factoryCalls: number;
  distinctKeys: number;
  computationsPerKey: number;
  /** The same over the hot keys alone, where concurrent misses on several hosts happen. */
  computationsPerHotKey: number;
  mostComputationsOfOneKey: number;
  /** Worst event-loop stall of any host during the scenario. */
  worstHostStallMs: number;
  /** Backend of each host when the load stopped. */
  backendsAtEnd: string[];
  /** What the bench did to Redis, with when (ms after the load started). */
  events: string[];
  /** Warnings the caches logged during the scenario, with how often, over every host. */
  logged: Record<string, number>;
  /** The same lines in order, each with the host that logged it and when (ms after the load started). */
  log: { atMs: number; host: number; line: string }[];
  bars: BarCheck[];
  pass: boolean;
}

export interface ScenarioInput {
  scenario: Scenario;
  http: HttpOutcome;
  before: readonly HostSnapshot[];
  after: readonly HostSnapshot[];
  /** When the load started (epoch ms): log times are given from there. */
  startedAt?: number;
  /** Keys whose index (after the last '-') is below this are the hot ones. */
  hotKeys: number;
  events: string[];
  /** The hosts' auto-pipelining; with `pair`, the run is one of a comparison and says so in its label. */
  autoPipelining?: 'on' | 'off';
  pair?: number;
}

/** Whether a scenario key (`<scenario>-<index>`) is one of the first `hotKeys`. */
export function isHotKey(key: string, hotKeys: number): boolean {
  const index = Number(key.slice(key.lastIndexOf('-') + 1));
  return Number.isInteger(index) && index < hotKeys;
}

export function summarizeScenario({ scenario, http, before, after, startedAt = 0, hotKeys, events, autoPipelining, pair }: ScenarioInput): ScenarioResult {
  const requested = new Set(after.flatMap((snapshot) => snapshot.requested));
  const distinctKeys = requested.size;
  const distinctHotKeys = [...requested].filter((key) => isHotKey(key, hotKeys)).length;
  const redis = sumCounters(after.map((snapshot, i) => counterDelta(redisCounters(before[i]!), redisCounters(snapshot))));
  const factoryCalls = after.reduce((sum, snapshot, i) => sum + snapshot.factoryCalls - before[i]!.factoryCalls, 0);
  const perKey = new Map<string, number>();
  for (const snapshot of after) for (const [key, n] of Object.entries(snapshot.perKey)) perKey.set(key, (perKey.get(key) ?? 0) + n);
  const logged: Record<string, number> = {};
  after.forEach((snapshot, i) => {
    for (const [line, n] of Object.entries(snapshot.logged)) {
      const fresh = n - (before[i]!.logged[line] ?? 0);
      if (fresh > 0) logged[line] = (logged[line] ?? 0) + fresh;
    }
  });
  const failed = http.non2xx + http.errors;
  const result: ScenarioResult = {
    name: scenario.name,
    label: pair === undefined ? scenario.label : `${scenario.label}, auto-pipelining ${autoPipelining ?? '?'} (pair ${pair})`,
    ...(autoPipelining === undefined ? {} : { autoPipelining }),
    ...(pair === undefined ? {} : { pair }),
    kind: scenario.kind,
    connections: http.connections,
    pipelining: scenario.pipelining,
    requests: http.requests,
    durationS: http.durationS,
    requestsPerSecond: http.durationS > 0 ? http.requests / http.durationS : 0,
    failed,
    http,
    p50Ms: http.p50Ms,
    p99Ms: http.p99Ms,
    redis,
    factoryCalls,
    distinctKeys,
    computationsPerKey: distinctKeys > 0 ? factoryCalls / distinctKeys : 0,
    computationsPerHotKey: distinctHotKeys > 0
      ? [...perKey].filter(([key]) => isHotKey(key, hotKeys)).reduce((sum, [, n]) => sum + n, 0) / distinctHotKeys
      : 0,
    mostComputationsOfOneKey: Math.max(0, ...perKey.values()),
    worstHostStallMs: Math.max(0, ...after.map((snapshot) => snapshot.loopMaxMs)),
    backendsAtEnd: after.map((snapshot) => snapshot.stats.cacheType),
    events,
    logged,
    log: after
      .flatMap((snapshot, host) => (snapshot.log ?? []).map((entry) => ({ atMs: entry.at - startedAt, host, line: entry.line })))
      .sort((a, b) => a.atMs - b.atMs),
    bars: [],
    pass: true,
  };
  result.bars = scenarioBars(result);
  result.pass = result.bars.every((bar) => bar.pass);
  return result;
}

/** The SPEC bars that apply to a scenario. */
export function scenarioBars(result: Pick<ScenarioResult, 'kind' | 'failed' | 'redis' | 'computationsPerKey' | 'computationsPerHotKey' | 'distinctKeys'>): BarCheck[] {
  const bars: BarCheck[] = [{ bar: 'no failed request', measured: String(result.failed), pass: result.failed === 0 }];
  if (result.kind === 'load') {
    bars.push(
      { bar: 'no command timeout', measured: String(result.redis.timeouts), pass: result.redis.timeouts === 0 },
      { bar: 'the circuit never opens', measured: String(result.redis.circuitOpenings), pass: result.redis.circuitOpenings === 0 },
      {
        bar: `at most ${COMPUTATIONS_PER_KEY_BAR} computations per distinct key`,
        measured: result.computationsPerKey.toFixed(2),
        pass: result.distinctKeys > 0 && result.computationsPerKey <= COMPUTATIONS_PER_KEY_BAR,
      },
      // Cold keys are rarely asked for on two hosts at once and dilute the figure above: the hot keys are where
      // concurrent misses across processes happen, so the bar holds for them on their own as well.
      {
        bar: `at most ${COMPUTATIONS_PER_KEY_BAR} computations per hot key`,
        measured: result.computationsPerHotKey.toFixed(2),
        pass: result.computationsPerHotKey <= COMPUTATIONS_PER_KEY_BAR,
      },
    );
  }
  return bars;
}

export interface LoadContext {
  workers: number;
  acrossWorkers: boolean;
  durationMs: number;
  keys: number;
  hotKeys: number;
  hotShare: number;
  computeMs: number;
  memoryEntries: number;
  /** How the hosts' auto-pipelining was set, in words ("off (reprise's default)", "off and on, alternating, 2 pairs"). */
  autoPipelining?: string;
}

/** One pair of runs of a scenario, auto-pipelining off and on, back to back. */
export interface PipeliningPair {
  scenario: string;
  pair: number;
  /** Which setting ran first. */
  first: 'on' | 'off';
  off: PairSide;
  on: PairSide;
  /** on ÷ off: above 1 means more requests per second with auto-pipelining. */
  requestsPerSecondRatio: number;
  /** on ÷ off: below 1 means a shorter tail with auto-pipelining. */
  p50Ratio: number;
  p99Ratio: number;
}

export interface PairSide {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  timeouts: number;
  circuitOpenings: number;
  failed: number;
}

export interface PipeliningComparison {
  pairs: PipeliningPair[];
  /** Per scenario: median ratios over its pairs, and totals of the counts. */
  scenarios: {
    scenario: string;
    pairs: number;
    requestsPerSecondRatio: number;
    requestsPerSecondRatioRange: [number, number];
    p50Ratio: number;
    p99Ratio: number;
    p99RatioRange: [number, number];
    timeouts: { off: number; on: number };
    circuitOpenings: { off: number; on: number };
    failed: { off: number; on: number };
  }[];
}

const side = (result: ScenarioResult): PairSide => ({
  requestsPerSecond: result.requestsPerSecond,
  p50Ms: result.p50Ms,
  p99Ms: result.p99Ms,
  timeouts: result.redis.timeouts,
  circuitOpenings: result.redis.circuitOpenings,
  failed: result.failed,
});

/** Pairs the runs of `--auto-pipelining=both` (same scenario, same pair number, one of each setting); null without such runs. */
export function comparePipelining(results: readonly ScenarioResult[]): PipeliningComparison | null {
  const pairs: PipeliningPair[] = [];
  for (const off of results) {
    if (off.pair === undefined || off.autoPipelining !== 'off') continue;
    const on = results.find((r) => r.name === off.name && r.pair === off.pair && r.autoPipelining === 'on');
    if (!on) continue;
    const a = side(off);
    const b = side(on);
    pairs.push({
      scenario: off.name,
      pair: off.pair,
      first: results.indexOf(off) < results.indexOf(on) ? 'off' : 'on',
      off: a,
      on: b,
      requestsPerSecondRatio: b.requestsPerSecond / a.requestsPerSecond,
      p50Ratio: b.p50Ms / a.p50Ms,
      p99Ratio: b.p99Ms / a.p99Ms,
    });
  }
  if (pairs.length === 0) return null;
  const names = [...new Set(pairs.map((p) => p.scenario))];
  return {
    pairs,
    scenarios: names.map((scenario) => {
      const mine = pairs.filter((p) => p.scenario === scenario);
      const ratios = (pick: (p: PipeliningPair) => number) => mine.map(pick);
      const total = (pick: (s: PairSide) => number) => ({ off: mine.reduce((n, p) => n + pick(p.off), 0), on: mine.reduce((n, p) => n + pick(p.on), 0) });
      const range = (values: number[]): [number, number] => [Math.min(...values), Math.max(...values)];
      return {
        scenario,
        pairs: mine.length,
        requestsPerSecondRatio: median(ratios((p) => p.requestsPerSecondRatio)),
        requestsPerSecondRatioRange: range(ratios((p) => p.requestsPerSecondRatio)),
        p50Ratio: median(ratios((p) => p.p50Ratio)),
        p99Ratio: median(ratios((p) => p.p99Ratio)),
        p99RatioRange: range(ratios((p) => p.p99Ratio)),
        timeouts: total((s) => s.timeouts),
        circuitOpenings: total((s) => s.circuitOpenings),
        failed: total((s) => s.failed),
      };
    }),
  };
}

/** The side-by-side table of `--auto-pipelining=both`: each pair, then the median over the pairs of each scenario. */
export function pipeliningMarkdown(comparison: PipeliningComparison, labels: Readonly<Record<string, string>> = {}): string {
  const offOn = (off: string, on: string) => `${off} / ${on}`;
  const rows = comparison.pairs.map((p) => [
    labels[p.scenario] ?? p.scenario,
    `${p.pair} (${p.first} first)`,
    offOn(si(p.off.requestsPerSecond), si(p.on.requestsPerSecond)),
    ratio(p.requestsPerSecondRatio),
    offOn(ms(p.off.p50Ms), ms(p.on.p50Ms)),
    offOn(ms(p.off.p99Ms), ms(p.on.p99Ms)),
    ratio(p.p99Ratio),
    offOn(String(p.off.timeouts), String(p.on.timeouts)),
    offOn(String(p.off.circuitOpenings), String(p.on.circuitOpenings)),
    offOn(String(p.off.failed), String(p.on.failed)),
  ]);
  for (const s of comparison.scenarios) {
    rows.push([
      `**${labels[s.scenario] ?? s.scenario}**`,
      `median of ${s.pairs}`,
      '',
      `**${ratio(s.requestsPerSecondRatio)}** (${ratio(s.requestsPerSecondRatioRange[0])} – ${ratio(s.requestsPerSecondRatioRange[1])})`,
      `p50 on ÷ off ${ratio(s.p50Ratio)}`,
      '',
      `**${ratio(s.p99Ratio)}** (${ratio(s.p99RatioRange[0])} – ${ratio(s.p99RatioRange[1])})`,
      offOn(String(s.timeouts.off), String(s.timeouts.on)),
      offOn(String(s.circuitOpenings.off), String(s.circuitOpenings.on)),
      offOn(String(s.failed.off), String(s.failed.on)),
    ]);
  }
  const table = markdownTable(
    ['scenario', 'pair', 'req/s off / on', 'req/s on ÷ off', 'p50 off / on', 'p99 off / on', 'p99 on ÷ off', 'command timeouts off / on', 'circuit openings off / on', 'failed off / on'],
    rows,
  );
  return 'Auto-pipelining off against on, the two runs of each pair back to back on the same Redis and machine '
    + '(req/s on ÷ off above 1x and p99 on ÷ off below 1x favour auto-pipelining; ranges are the lowest and highest pair):\n\n'
    + table;
}

function verdict(result: ScenarioResult): string {
  const missed = result.bars.filter((bar) => !bar.pass).map((bar) => `${bar.bar} (${bar.measured})`);
  return missed.length === 0 ? 'PASS' : `MISS: ${missed.join('; ')}`;
}

function reasons(redis: RedisCounters): string {
  if (!redis.errorsByReason) return `${redis.errors} (no breakdown)`;
  const named = Object.entries(redis.errorsByReason).filter(([, n]) => n > 0).map(([reason, n]) => `${reason} ${n}`);
  return named.length ? `${redis.errors}: ${named.join(', ')}` : String(redis.errors);
}

export function loadMarkdown(results: readonly ScenarioResult[], context: LoadContext): string {
  const setup = `${context.workers} host processes on one Redis, getOrSet with acrossWorkers ${context.acrossWorkers ? 'on' : 'off'}; `
    + `${context.durationMs / 1_000} s of load per scenario; ${context.keys} keys per scenario, ${Math.round(context.hotShare * 100)} % of requests on `
    + `${context.hotKeys} hot ones; a miss computes for ${context.computeMs} ms; ${context.memoryEntries} entries in each host's memory tier.`
    + (context.autoPipelining ? ` Auto-pipelining (redisAutoPipelining): ${context.autoPipelining}.` : '');
  const main = markdownTable(
    ['scenario', 'connections', 'requests', 'req/s', 'failed', 'p50', 'p99', 'command timeouts', 'circuit openings', 'computations per key', 'per hot key', 'bars'],
    results.map((r) => [
      r.label,
      r.pipelining > 1 ? `${r.connections} × ${r.pipelining} pipelined` : String(r.connections),
      String(r.requests),
      si(r.requestsPerSecond),
      String(r.failed),
      ms(r.p50Ms),
      ms(r.p99Ms),
      String(r.redis.timeouts),
      String(r.redis.circuitOpenings),
      `${r.computationsPerKey.toFixed(2)} (${r.factoryCalls} / ${r.distinctKeys})`,
      r.computationsPerHotKey.toFixed(2),
      verdict(r),
    ]),
  );
  const details = markdownTable(
    ['scenario', 'Redis errors (by reason)', 'refused writes', 'calls skipped (circuit open or down)', 'most computations of one key', 'worst host event-loop stall', 'what the bench did'],
    results.map((r) => [
      r.label,
      reasons(r.redis),
      r.redis.refusedWrites === null ? 'n/a' : String(r.redis.refusedWrites),
      String(r.redis.skipped),
      String(r.mostComputationsOfOneKey),
      ms(r.worstHostStallMs),
      r.events.length ? r.events.join('; ') : '-',
    ]),
  );
  const sampled = results.some((r) => r.redis.openingsSource === 'sampled')
    ? '\n\nCircuit openings were counted by sampling each host\'s breaker every 10 ms (this engine\'s stats() has no `circuitOpenings`).'
    : '';
  const comparison = comparePipelining(results);
  const compared = comparison ? pipeliningMarkdown(comparison, Object.fromEntries(results.map((r) => [r.name, r.label.replace(/, auto-pipelining .*$/, '')]))) : '';
  const failedBars = results.filter((r) => !r.pass).map((r) => r.label);
  const overall = failedBars.length === 0
    ? 'PASS: every bar met.'
    : `MISS: ${failedBars.join(', ')} missed a bar.`;
  return [setup, '', ...(compared ? [compared, ''] : []), main, '', details, sampled ? sampled.trim() : '', '', 'Failed requests = non-2xx answers + connection errors and timeouts seen by autocannon; a value that is not the requested key\'s is answered 500 by the host, so it counts too.', '', overall]
    .filter((line, i, all) => !(line === '' && all[i - 1] === ''))
    .join('\n');
}
