/** bench:load's settings, the counters it reads from hosts of any engine version, and its verdicts. */
import { describe, expect, it } from 'vitest';
import type { HostSnapshot } from '../../bench/lib/load-protocol.js';
import {
  counterDelta,
  isHotKey,
  loadMarkdown,
  redisCounters,
  summarizeScenario,
  type HttpOutcome,
  type LoadContext,
} from '../../bench/lib/load-report.js';
import { drawKey, parseLoadSettings, SCENARIOS } from '../../bench/lib/load-settings.js';

describe('bench:load settings', () => {
  it('defaults to 2 hosts, 10 s per scenario, every scenario, acrossWorkers on', () => {
    const settings = parseLoadSettings([]);
    expect(settings.workers).toBe(2);
    expect(settings.durationMs).toBe(10_000);
    expect(settings.acrossWorkers).toBe(true);
    expect(settings.scenarios.map((scenario) => scenario.name)).toEqual(['healthy', 'saturated', 'killed', 'stopped', 'full', 'wrongtype']);
    expect(settings.command).toBe('npm run bench:load');
  });

  it('reads --workers, --seconds, --durationMs, --quick, --only and --no-across-workers', () => {
    expect(parseLoadSettings(['--workers=4', '--seconds=5']).workers).toBe(4);
    expect(parseLoadSettings(['--seconds=5']).durationMs).toBe(5_000);
    expect(parseLoadSettings(['--durationMs=3500']).durationMs).toBe(3_500);
    expect(parseLoadSettings(['--quick']).durationMs).toBe(4_000);
    expect(parseLoadSettings(['--no-across-workers']).acrossWorkers).toBe(false);
    const only = parseLoadSettings(['--only=saturated,healthy']);
    expect(only.scenarios.map((scenario) => scenario.name)).toEqual(['healthy', 'saturated']);
    expect(only.command).toBe('npm run bench:load -- --only=saturated,healthy');
  });

  it('refuses unknown options, impossible numbers and scenarios too short for a 2 s stop', () => {
    expect(() => parseLoadSettings(['--worker=2'])).toThrow(/unknown option/);
    expect(() => parseLoadSettings(['--workers=0'])).toThrow(/--workers/);
    expect(() => parseLoadSettings(['--seconds=2'])).toThrow(/at least 3000 ms/);
    expect(() => parseLoadSettings(['--seconds=5', '--durationMs=5000'])).toThrow(/not both/);
    expect(() => parseLoadSettings(['--only=healthy,flooded'])).toThrow(/flooded/);
  });

  it('draws hot keys with the hot share and any key otherwise', () => {
    const settings = { keys: 2_000, hotKeys: 100, hotShare: 0.8 };
    const draws = (values: number[]) => {
      let i = 0;
      return () => values[i++]!;
    };
    expect(drawKey(settings, draws([0.5, 0.999]))).toBe(99);
    expect(drawKey(settings, draws([0.9, 0.999]))).toBe(1_998);
    expect(isHotKey('healthy-99', 100)).toBe(true);
    expect(isHotKey('wrongtype-100', 100)).toBe(false);
  });
});

/** A host snapshot; `redis` is whatever the engine's stats().tiers.redis holds. */
function snapshot(redis: Record<string, unknown>, extra: Partial<HostSnapshot> = {}): HostSnapshot {
  return {
    pid: 1,
    factoryCalls: 0,
    perKey: {},
    requested: [],
    stats: { cacheType: 'redis', tiers: { redis } },
    sampledOpenings: 0,
    loopMaxMs: 1,
    logged: {},
    log: [],
    ...extra,
  };
}

describe('host counters', () => {
  it('reads an engine without circuitOpenings, errorsByReason or refusedWrites, counting openings by sampling', () => {
    const counters = redisCounters(snapshot({ breaker: 'closed', timeouts: 2, errors: 3, skipped: 4 }, { sampledOpenings: 1 }));
    expect(counters).toEqual({ timeouts: 2, errors: 3, skipped: 4, circuitOpenings: 1, openingsSource: 'sampled', errorsByReason: null, refusedWrites: null });
  });

  it('prefers the engine\'s own counts and subtracts the snapshot taken before the scenario', () => {
    const before = redisCounters(snapshot({ timeouts: 1, errors: 1, skipped: 0, circuitOpenings: 1, errorsByReason: { oom: 1, wrongtype: 0 }, refusedWrites: 1 }, { sampledOpenings: 9 }));
    const after = redisCounters(snapshot({ timeouts: 1, errors: 6, skipped: 0, circuitOpenings: 1, errorsByReason: { oom: 4, wrongtype: 2 }, refusedWrites: 4 }, { sampledOpenings: 9 }));
    expect(counterDelta(before, after)).toEqual({
      timeouts: 0,
      errors: 5,
      skipped: 0,
      circuitOpenings: 0,
      openingsSource: 'engine',
      errorsByReason: { oom: 3, wrongtype: 2 },
      refusedWrites: 3,
    });
  });
});

describe('scenario verdicts', () => {
  const http: HttpOutcome = { connections: 50, requests: 1_000, durationS: 2, non2xx: 0, errors: 0, timeouts: 0, p50Ms: 1, p99Ms: 9, maxMs: 20 };
  const healthy = SCENARIOS.find((scenario) => scenario.name === 'healthy')!;
  const stopped = SCENARIOS.find((scenario) => scenario.name === 'stopped')!;
  const hosts = (perKey: Record<string, number>[], redis: Record<string, unknown>[]) => ({
    before: perKey.map(() => snapshot({ timeouts: 0, errors: 0, skipped: 0, circuitOpenings: 0 })),
    after: perKey.map((keys, i) =>
      snapshot(redis[i]!, { perKey: keys, requested: Object.keys(keys), factoryCalls: Object.values(keys).reduce((a, b) => a + b, 0) })),
  });

  it('passes healthy load with no timeout, no opening and one computation per key across hosts', () => {
    const { before, after } = hosts([{ 'healthy-0': 1, 'healthy-500': 1 }, { 'healthy-1': 1 }], [{ timeouts: 0, circuitOpenings: 0 }, { timeouts: 0, circuitOpenings: 0 }]);
    const result = summarizeScenario({ scenario: healthy, http, before, after, hotKeys: 100, events: [] });
    expect(result.requestsPerSecond).toBe(500);
    expect(result.computationsPerKey).toBe(1);
    expect(result.computationsPerHotKey).toBe(1);
    expect(result.pass).toBe(true);
    expect(result.bars.map((bar) => bar.bar)).toEqual(['no failed request', 'no command timeout', 'the circuit never opens', 'at most 1.1 computations per distinct key', 'at most 1.1 computations per hot key']);
  });

  it('misses the load bars on a timeout, an opening or a key computed on both hosts', () => {
    const { before, after } = hosts([{ 'healthy-0': 1 }, { 'healthy-0': 1 }], [{ timeouts: 1, circuitOpenings: 0 }, { timeouts: 0, circuitOpenings: 1 }]);
    const result = summarizeScenario({ scenario: healthy, http, before, after, hotKeys: 100, events: [] });
    expect(result.computationsPerKey).toBe(2);
    expect(result.computationsPerHotKey).toBe(2);
    expect(result.bars.filter((bar) => !bar.pass).map((bar) => bar.measured)).toEqual(['1', '1', '2.00', '2.00']);
    expect(result.pass).toBe(false);
  });

  it('holds the hot keys to the bar on their own, so cold keys cannot dilute a stampede', () => {
    const cold = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`healthy-${500 + i}`, 1]));
    const { before, after } = hosts([{ 'healthy-0': 1, ...cold }, { 'healthy-0': 1 }], [{ timeouts: 0, circuitOpenings: 0 }, { timeouts: 0, circuitOpenings: 0 }]);
    const result = summarizeScenario({ scenario: healthy, http, before, after, hotKeys: 100, events: [] });
    expect(result.computationsPerKey).toBeCloseTo(32 / 31);
    expect(result.bars.filter((bar) => !bar.pass).map((bar) => bar.bar)).toEqual(['at most 1.1 computations per hot key']);
  });

  it('holds a fault scenario to no failed request only', () => {
    const { before, after } = hosts([{ 'stopped-0': 2 }], [{ timeouts: 40, circuitOpenings: 1 }]);
    const passed = summarizeScenario({ scenario: stopped, http, before, after, hotKeys: 100, events: ['SIGSTOP at 1200 ms'] });
    expect(passed.pass).toBe(true);
    const failed = summarizeScenario({ scenario: stopped, http: { ...http, non2xx: 2, errors: 1 }, before, after, hotKeys: 100, events: [] });
    expect(failed.failed).toBe(3);
    expect(failed.pass).toBe(false);

    const context: LoadContext = { workers: 1, acrossWorkers: true, durationMs: 2_000, keys: 2_000, hotKeys: 100, hotShare: 0.8, computeMs: 30, memoryEntries: 1_000 };
    const markdown = loadMarkdown([passed, failed], context);
    expect(markdown).toContain('| Redis SIGSTOPped for 2 s | 50 | 1000 | 500 | 3 |');
    expect(markdown).toContain('MISS: no failed request (3)');
    expect(markdown).toContain('SIGSTOP at 1200 ms');
    expect(markdown.trim().split('\n').at(-1)).toBe('MISS: Redis SIGSTOPped for 2 s missed a bar.');
  });
});
