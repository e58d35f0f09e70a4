/** The arithmetic behind every bench figure: quantiles, summaries, ratio formatting and the command line. */
import { describe, expect, it } from 'vitest';
import { median, quantile, summarize } from '../../bench/lib/stats.js';
import { ratio, si } from '../../bench/lib/format.js';
import { parseSettings } from '../../bench/lib/settings.js';

describe('bench statistics', () => {
  it('interpolates quantiles between ranks and takes medians of unsorted input', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10, 20, 30, 40, 50], 0.25)).toBe(20);
    expect(quantile([], 0.5)).toBeNaN();
    expect(median([9, 1, 5])).toBe(5);
  });

  it('summarizes samples by median, extremes and interquartile share, untouched by one outlier', () => {
    const summary = summarize([100, 102, 98, 101, 99, 1_000]);
    expect(summary).toMatchObject({ samples: 6, min: 98, max: 1_000 });
    expect(summary.median).toBe(100.5);
    expect(summary.iqrShare).toBeCloseTo((summary.p75 - summary.p25) / 100.5);
  });

  it('prints ratios and rates readably at every size', () => {
    expect(ratio(11.24)).toBe('11.2x');
    expect(ratio(1.694)).toBe('1.69x');
    expect(ratio(0.0351)).toBe('0.035x');
    expect(ratio(Number.NaN)).toBe('n/a');
    expect(si(2_750_000)).toBe('2.75 M');
    expect(si(32_512)).toBe('32.5 k');
  });
});

describe('bench command line', () => {
  it('runs every section by default and narrows them with --only', () => {
    expect(parseSettings([]).sections).toEqual(['libraries', 'registry', 'scenarios']);
    const quick = parseSettings(['--quick', '--only=registry,scenarios', '--rounds=3']);
    expect(quick).toMatchObject({ quick: true, sections: ['registry', 'scenarios'], rounds: 3 });
    expect(quick.command).toBe('npm run bench -- --quick --only=registry,scenarios --rounds=3');
    expect(parseSettings([]).scenarios).toEqual(['l1-get-hit', 'redis-get-hit', 'tiered-set', 'get-or-set-storm']);
    expect(parseSettings(['--scenarios=tiered-set,redis-get-hit']).scenarios).toEqual(['tiered-set', 'redis-get-hit']);
  });

  it('refuses unknown sections, bad numbers and unknown options with a clear message', () => {
    expect(() => parseSettings(['--only=speed'])).toThrow(/--only takes libraries, registry, scenarios/);
    expect(() => parseSettings(['--rounds=0'])).toThrow(/--rounds must be a positive whole number/);
    expect(() => parseSettings(['--fast'])).toThrow(/unknown option/);
    expect(() => parseSettings(['--scenarios=redis-hit'])).toThrow(/--scenarios takes l1-get-hit, redis-get-hit, tiered-set, get-or-set-storm; got redis-hit/);
  });
});
