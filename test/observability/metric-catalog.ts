/**
 * What reprise exports, read from the metrics themselves (src/telemetry/metrics.ts): each series name Prometheus
 * will store, with the labels it can carry. A histogram contributes its _bucket (with `le`), _sum and _count series.
 */
import { Registry } from 'prom-client';
import { RepriseMetrics } from '../../src/telemetry/metrics.js';

/** Labels Prometheus adds to every scraped series. */
export const TARGET_LABELS = ['job', 'instance'] as const;

export interface ExportedMetric {
  /** The name declared in metrics.ts. */
  name: string;
  type: string;
  labels: readonly string[];
}

export async function exportedMetrics(): Promise<ExportedMetric[]> {
  const registry = new Registry();
  new RepriseMetrics(registry);
  const types = new Map((await registry.getMetricsAsJSON()).map((metric) => [metric.name, String(metric.type)]));
  return registry.getMetricsAsArray().map((metric) => ({
    name: metric.name,
    type: types.get(metric.name) ?? 'unknown',
    labels: (metric as unknown as { labelNames: string[] }).labelNames,
  }));
}

/** Series name -> the labels it may carry (target labels included). */
export async function exportedSeries(): Promise<Map<string, Set<string>>> {
  const series = new Map<string, Set<string>>();
  for (const metric of await exportedMetrics()) {
    const labels = [...metric.labels, ...TARGET_LABELS];
    if (metric.type === 'histogram') {
      series.set(`${metric.name}_bucket`, new Set([...labels, 'le']));
      series.set(`${metric.name}_sum`, new Set(labels));
      series.set(`${metric.name}_count`, new Set(labels));
    } else {
      series.set(metric.name, new Set(labels));
    }
  }
  return series;
}

/** The metric a series name belongs to (strips a histogram suffix). */
export function metricOfSeries(series: string, metrics: readonly ExportedMetric[]): ExportedMetric | undefined {
  return metrics.find((metric) => metric.name === series)
    ?? metrics.find((metric) => metric.type === 'histogram' && /^(.*)_(bucket|sum|count)$/.exec(series)?.[1] === metric.name);
}
