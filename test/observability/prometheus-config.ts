/**
 * What the Prometheus suites share: the repository's scrape config pointed at local targets, and dashboard queries
 * with Grafana's variables filled in as Grafana would.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from './dashboards.js';

/** What Grafana puts in for its time variables: windows that span a whole test. */
export const GRAFANA_WINDOWS: Record<string, string> = { __rate_interval: '5m', __range: '15m' };

interface ScrapeConfig {
  global: Record<string, string>;
  rule_files: string[];
  scrape_configs: Array<{ job_name: string; static_configs?: Array<{ targets: string[] }>; dns_sd_configs?: unknown }>;
}

/**
 * prometheus/prometheus.yml scraping `targets` (host:port) every second, with the repository's rules: the job's
 * discovery (Docker's DNS in docker-compose.yml) is replaced by the targets, everything else is kept.
 */
export function testScrapeConfig(targets: string[]): ScrapeConfig {
  const config = parse(readFileSync(path.join(REPO_ROOT, 'prometheus/prometheus.yml'), 'utf8')) as ScrapeConfig;
  config.global = { ...config.global, scrape_interval: '1s', evaluation_interval: '1s' };
  config.rule_files = config.rule_files.map((file) => path.join(REPO_ROOT, 'prometheus', file));
  const job = config.scrape_configs.find((candidate) => candidate.job_name === 'reprise')!;
  delete job.dns_sd_configs;
  job.static_configs = [{ targets }];
  return config;
}

/** A Grafana multi-value variable as Grafana writes it into a regex matcher: (a|b), regex-escaped. */
export function regexOf(values: string[]): string {
  const escaped = values.map((value) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return `(${escaped.join('|')})`.replace(/\\/g, '\\\\');
}

/** Fills in $job, $instance and Grafana's time variables; anything left would be a variable Grafana has and we don't. */
export function substitute(expr: string, variables: Record<string, string>): string {
  const filled = expr.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => variables[name] ?? GRAFANA_WINDOWS[name] ?? whole);
  if (filled.includes('$')) throw new Error(`unknown variable left in: ${filled}`);
  return filled;
}
