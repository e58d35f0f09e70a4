/**
 * The Prometheus config and alert rules, checked by promtool (config, rules, the unit tests in alerts.test.yml),
 * plus what promtool cannot know: every alert of the issue exists and has a firing unit test, the rules read only
 * what reprise exports, and the unit tests fail when a rule is broken.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPrometheus, promtool } from '../harness/prometheus-server.js';
import { REPO_ROOT } from './dashboards.js';
import { exportedSeries } from './metric-catalog.js';
import { groupingLabels, selectors, unguardedDivisions } from './promql.js';

const CONFIG = path.join(REPO_ROOT, 'prometheus/prometheus.yml');
const RULES = path.join(REPO_ROOT, 'prometheus/alerts.yml');
const RULE_TESTS = path.join(REPO_ROOT, 'prometheus/alerts.test.yml');

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const rules: AlertRule[] = (parse(readFileSync(RULES, 'utf8'), { strict: true, uniqueKeys: true }) as { groups: Array<{ rules: AlertRule[] }> })
  .groups.flatMap((group) => group.rules);

const ISSUE_ALERTS = [
  'RepriseRedisDown', 'RepriseRedisFull', 'RepriseRedisNearFull', 'RepriseRunningOnMemory', 'RepriseWarmStale', 'RepriseHitRatioLow',
  'RepriseUpstreamErrors', 'RepriseRegistryMissingSurge', 'RepriseConversionsFailing',
];

describe('alert rules as written', () => {
  it('has the alerts of the issue, each with a severity, a summary and a description', () => {
    expect(rules.map((rule) => rule.alert).sort()).toEqual([...ISSUE_ALERTS].sort());
    for (const rule of rules) {
      expect(['critical', 'warning'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      expect(rule.for, `${rule.alert} waits before firing`).toMatch(/^\d+[mh]$/);
    }
  });

  it('reads only series reprise exports, by labels they carry, and guards its divisions', async () => {
    const series = await exportedSeries();
    for (const rule of rules) {
      const used = selectors(rule.expr);
      expect(used.length, rule.alert).toBeGreaterThan(0);
      const known = new Set<string>(['job', 'instance']);
      for (const selector of used) {
        const labels = series.get(selector.series);
        expect(labels, `${rule.alert}: ${selector.series}`).toBeDefined();
        for (const label of selector.labels) expect([...labels!], `${rule.alert}: {${label}}`).toContain(label);
        for (const label of labels!) known.add(label);
      }
      for (const label of groupingLabels(rule.expr)) expect([...known], `${rule.alert}: by/on (${label})`).toContain(label);
      expect(unguardedDivisions(rule.expr), rule.alert).toEqual([]);
    }
  });

  it('has a unit test in which each alert fires', () => {
    const tests = parse(readFileSync(RULE_TESTS, 'utf8'), { strict: true, uniqueKeys: true }) as {
      rule_files: string[];
      tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    expect(tests.rule_files).toEqual(['alerts.yml']);
    const firing = new Set(tests.tests.flatMap((test) => (test.alert_rule_test ?? []).filter((check) => check.exp_alerts.length > 0).map((check) => check.alertname)));
    expect([...firing].sort()).toEqual([...ISSUE_ALERTS].sort());
  });
});

describe.skipIf(!hasPrometheus)('promtool', () => {
  it('accepts the scrape config (and the rule files it names)', () => {
    const run = promtool(['check', 'config', CONFIG]);
    expect(run.output).toContain('SUCCESS');
    expect(run.status, run.output).toBe(0);
  });

  it('accepts the alert rules', () => {
    const run = promtool(['check', 'rules', RULES]);
    expect(run.output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(run.status, run.output).toBe(0);
  });

  it('passes the alert unit tests', () => {
    const run = promtool(['test', 'rules', RULE_TESTS]);
    expect(run.status, run.output).toBe(0);
    expect(run.output).toContain('SUCCESS');
  });

  describe('the unit tests fail when a rule is broken', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'reprise-alerts-'));
      copyFileSync(RULE_TESTS, path.join(dir, 'alerts.test.yml'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const breakages: Array<[string, string, string]> = [
      ['RepriseRedisDown fires for memory-only instances', 'and on (job, instance) max_over_time(reprise_cache_backend{type="redis"}[1h]) == 1', 'and on (job, instance) max_over_time(reprise_cache_backend{type="redis"}[1h]) >= 0'],
      ['RepriseRunningOnMemory fires at once', 'reprise_cache_backend{type="memory"} == 1\n        for: 30m', 'reprise_cache_backend{type="memory"} == 1\n        for: 1m'],
      ['RepriseWarmStale ignores how long warming has run', 'offset 26h', 'offset 1h'],
      ['RepriseHitRatioLow fires on a quiet job', '[10m])) > 0.1', '[10m])) > 0'],
      ['RepriseUpstreamErrors counts successes as errors', 'outcome!="success"', 'outcome=~".+"'],
      ['RepriseRedisNearFull fires for nodes without maxmemory', '(reprise_redis_memory_max_bytes) > 0)', '(reprise_redis_memory_max_bytes) >= 0)'],
      ['RepriseRedisNearFull fires on a short peak', 'reprise_redis_memory_max_bytes) > 0) > 0.9\n        for: 5m', 'reprise_redis_memory_max_bytes) > 0) > 0.9\n        for: 1m'],
      ['RepriseRegistryMissingSurge ignores validations', '> 2 * sum by (job) (rate(reprise_id_registry_validations_total[15m]))', '> 0 * sum by (job) (rate(reprise_id_registry_validations_total[15m]))'],
      ['RepriseRegistryMissingSurge fires on a quiet job', 'reason="not_found"}[15m])) > 0.05', 'reason="not_found"}[15m])) > 0'],
      ['RepriseConversionsFailing counts every outcome as a failure', 'outcome="unresolved"}[10m]', 'outcome=~".+"}[10m]'],
    ];
    it.each(breakages)('%s', (_what, from, to) => {
      const original = readFileSync(RULES, 'utf8');
      expect(original).toContain(from);
      writeFileSync(path.join(dir, 'alerts.yml'), original.replace(from, to));
      const run = promtool(['test', 'rules', path.join(dir, 'alerts.test.yml')]);
      expect(run.status, run.output).not.toBe(0);
      expect(run.output).toContain('FAILED');
    });
  });
});
