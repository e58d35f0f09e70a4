/** What a bench case file offers the runner: named variants, each starting one workload against the bench's Redis. */

export type ScenarioName = 'l1-get-hit' | 'redis-get-hit' | 'tiered-set' | 'get-or-set-storm';

export interface Workload {
  /** One measured call; `i` counts calls from 0 (use it to pick keys). */
  run(i: number): unknown;
  /** True when run() answers synchronously (bare lru-cache): it is then called without await. */
  sync?: boolean;
  /** Operations one run() stands for (a storm serves many callers at once). Default 1. */
  opsPerRun?: number;
  /** Counts that show the workload did what it claims: tier hits, factory calls, errors. */
  evidence?(): Record<string, number | string>;
  close(): Promise<void>;
}

export interface CaseContext {
  redisUrl: string;
  redisHost: string;
  redisPort: number;
  /** A prefix of this child's own, so no two contenders read each other's keys. */
  keyPrefix: string;
  /** Options the plan row gives the library (e.g. `{ redisAutoPipelining: true }` for reprise); `{}` for most rows. */
  options: Readonly<Record<string, unknown>>;
}

export interface Variant {
  scenario: ScenarioName;
  /** How this contender is set up for the scenario, printed under the table. */
  setup: string;
  start(context: CaseContext): Promise<Workload>;
}

export type CaseFile = Record<string, Variant>;
