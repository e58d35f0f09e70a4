/**
 * The Grafana dashboards and their provisioning, checked as files: importable by provisioning (no import-UI
 * placeholders), a datasource variable everywhere, a unit on every panel, $__rate_interval in every rate, guarded
 * divisions, and only series and labels that reprise exports. Whether the queries return data is the end-to-end test.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportedMetrics, exportedSeries, metricOfSeries, TARGET_LABELS, type ExportedMetric } from './metric-catalog.js';
import { dataPanels, loadDashboards, queryName, REPO_ROOT, variableQuery } from './dashboards.js';
import { groupingLabels, rangeFunctions, rangeWindows, selectors, unguardedDivisions } from './promql.js';

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

const dashboards = loadDashboards();
let metrics: ExportedMetric[];
let series: Map<string, Set<string>>;
beforeAll(async () => {
  metrics = await exportedMetrics();
  series = await exportedSeries();
});

/** Every query of every panel: [name, expr]. */
function queries(): Array<[string, string]> {
  return dashboards.flatMap((dashboard) =>
    dataPanels(dashboard).flatMap((panel) =>
      (panel.targets ?? []).map((target): [string, string] => [queryName(dashboard, panel, target), target.expr ?? '']),
    ),
  );
}

function variableQueries(): Array<[string, string]> {
  return dashboards.flatMap((dashboard) =>
    dashboard.templating.list
      .filter((variable) => variable.type === 'query')
      .map((variable): [string, string] => [`${dashboard.title} / $${variable.name}`, variableQuery(variable)]),
  );
}

describe('grafana dashboards', () => {
  it('has the overview and upstream dashboards, with distinct uids and titles', () => {
    expect(dashboards.map((dashboard) => dashboard.file)).toEqual(['reprise-overview.json', 'reprise-upstream.json']);
    expect(new Set(dashboards.map((dashboard) => dashboard.uid)).size).toBe(dashboards.length);
    expect(new Set(dashboards.map((dashboard) => dashboard.title)).size).toBe(dashboards.length);
  });

  it('uses no import-UI placeholders (${DS_...} or __inputs): provisioning would leave them unresolved', () => {
    for (const dashboard of dashboards) {
      expect(dashboard.text, dashboard.file).not.toMatch(/\$\{DS_/);
      expect(dashboard, dashboard.file).not.toHaveProperty('__inputs');
    }
  });

  it('declares a datasource variable of Prometheus datasources, and job and instance variables that query through it', () => {
    for (const dashboard of dashboards) {
      const variables = dashboard.templating.list;
      expect(variables.find((variable) => variable.name === 'datasource'), dashboard.file)
        .toMatchObject({ type: 'datasource', query: 'prometheus' });
      for (const name of ['job', 'instance']) {
        const variable = variables.find((candidate) => candidate.name === name);
        expect(variable, `${dashboard.file} $${name}`).toMatchObject({ type: 'query', datasource: DATASOURCE, includeAll: true, allValue: '.*' });
        expect(variableQuery(variable!)).toMatch(new RegExp(`^label_values\\(reprise_[a-z_]+.*, ${name}\\)$`));
      }
    }
  });

  it('points every panel and every query at the datasource variable', () => {
    for (const dashboard of dashboards) {
      for (const panel of dataPanels(dashboard)) {
        expect(panel.datasource, `${dashboard.title} / ${panel.title}`).toEqual(DATASOURCE);
        expect(panel.targets?.length, `${dashboard.title} / ${panel.title} has queries`).toBeGreaterThan(0);
        for (const target of panel.targets ?? []) {
          expect(target.datasource, queryName(dashboard, panel, target)).toEqual(DATASOURCE);
          expect(target.expr?.trim(), queryName(dashboard, panel, target)).toBeTruthy();
        }
      }
    }
  });

  it('gives every panel a unit', () => {
    for (const dashboard of dashboards) {
      for (const panel of dataPanels(dashboard)) {
        expect(panel.fieldConfig?.defaults?.unit, `${dashboard.title} / ${panel.title}`).toMatch(/^[a-zA-Z]+$/);
      }
    }
  });

  it('gives panels unique ids and lays them out on the 24-column grid without overlaps', () => {
    for (const dashboard of dashboards) {
      const panels = dashboard.panels;
      expect(new Set(panels.map((panel) => panel.id)).size, dashboard.file).toBe(panels.length);
      for (const [index, panel] of panels.entries()) {
        const { x, y, w, h } = panel.gridPos;
        expect(x + w, `${panel.title} fits the grid`).toBeLessThanOrEqual(24);
        for (const other of panels.slice(index + 1)) {
          const overlap = x < other.gridPos.x + other.gridPos.w && other.gridPos.x < x + w
            && y < other.gridPos.y + other.gridPos.h && other.gridPos.y < y + h;
          expect(overlap, `${panel.title} overlaps ${other.title}`).toBe(false);
        }
      }
    }
  });

  it('filters every reprise selector by the $job and $instance variables', () => {
    for (const [name, expr] of queries()) {
      for (const selector of selectors(expr)) {
        expect(selector.labels, `${name}: ${selector.series}`).toEqual(expect.arrayContaining(['job', 'instance']));
      }
      expect(expr, name).toContain('job=~"$job"');
      expect(expr, name).toContain('instance=~"$instance"');
    }
  });

  it('uses $__rate_interval in every rate() and only Grafana windows ($__rate_interval, $__range) anywhere', () => {
    for (const [name, expr] of queries()) {
      for (const { fn, window } of rangeFunctions(expr)) {
        if (fn === 'rate' || fn === 'irate') expect(window, `${name}: ${fn}()`).toBe('$__rate_interval');
      }
      for (const window of rangeWindows(expr)) expect(['$__rate_interval', '$__range'], name).toContain(window);
    }
  });

  it('guards every division against a zero denominator (clamp_min or a "> 0" filter)', () => {
    const ratios = queries().filter(([, expr]) => expr.includes('/'));
    expect(ratios.length).toBeGreaterThan(0);
    for (const [name, expr] of ratios) expect(unguardedDivisions(expr), name).toEqual([]);
  });

  it('selects only series reprise exports, by labels those series carry', () => {
    for (const [name, expr] of [...queries(), ...variableQueries()]) {
      const used = selectors(expr);
      expect(used.length, `${name} reads a reprise metric`).toBeGreaterThan(0);
      const labelsInExpr = new Set<string>(TARGET_LABELS);
      for (const selector of used) {
        const labels = series.get(selector.series);
        expect(labels, `${name}: ${selector.series} is exported`).toBeDefined();
        for (const label of selector.labels) expect([...labels!], `${name}: ${selector.series}{${label}}`).toContain(label);
        for (const label of labels!) labelsInExpr.add(label);
      }
      for (const label of groupingLabels(expr)) expect([...labelsInExpr], `${name}: by/on (${label})`).toContain(label);
    }
  });

  it('shows every metric reprise exports on some panel', () => {
    const shown = new Set(queries().flatMap(([, expr]) => selectors(expr).map((selector) => metricOfSeries(selector.series, metrics)?.name)));
    const missing = metrics.map((metric) => metric.name).filter((name) => !shown.has(name));
    expect(missing).toEqual([]);
  });

  it('catches what it claims to: the PromQL reader sees unknown series, bad labels, raw windows and bare divisions', () => {
    const expr = 'sum by (category) (rate(reprise_cache_request_total{tier="memory", colour="red"}[5m])) / sum(rate(reprise_cache_requests_total[5m]))';
    expect(selectors(expr).map((selector) => selector.series)).toEqual(['reprise_cache_request_total', 'reprise_cache_requests_total']);
    expect(series.has('reprise_cache_request_total')).toBe(false);
    expect(selectors(expr)[0]!.labels).toEqual(['tier', 'colour']);
    expect(rangeFunctions(expr)).toEqual([{ fn: 'rate', window: '5m' }, { fn: 'rate', window: '5m' }]);
    expect(unguardedDivisions(expr)).toEqual(['sum(rate(reprise_cache_requests_total[5m]))']);
    expect(unguardedDivisions('a / clamp_min(b, 1e-9) + c / (d > 0)')).toEqual([]);
    expect(unguardedDivisions('a{x="1/2"} / (d + 1)')).toEqual(['(d + 1)']);
  });
});

describe('grafana provisioning', () => {
  const read = (file: string) => parse(readFileSync(path.join(REPO_ROOT, file), 'utf8'), { strict: true, uniqueKeys: true });

  it('provisions one default Prometheus datasource whose interval matches the scrape interval', () => {
    const { apiVersion, datasources } = read('grafana/provisioning/datasources/prometheus.yml');
    expect(apiVersion).toBe(1);
    expect(datasources).toHaveLength(1);
    expect(datasources[0]).toMatchObject({ type: 'prometheus', access: 'proxy', isDefault: true });
    expect(datasources[0].url).toMatch(/^http:\/\/[a-z0-9-]+:\d+$/);
    const prometheus = read('prometheus/prometheus.yml');
    // Grafana derives $__rate_interval from this: it must not be shorter than what Prometheus really scrapes.
    expect(datasources[0].jsonData.timeInterval).toBe(prometheus.global.scrape_interval);
  });

  it('provisions the dashboards from files into a reprise folder, read-only in the UI', () => {
    const { apiVersion, providers } = read('grafana/provisioning/dashboards/reprise.yml');
    expect(apiVersion).toBe(1);
    expect(providers).toHaveLength(1);
    expect(providers[0]).toMatchObject({ type: 'file', folder: 'reprise', allowUiUpdates: false });
    expect(providers[0].options.path).toMatch(/^\//);
  });
});
