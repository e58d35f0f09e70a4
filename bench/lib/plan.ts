/** Which contenders run in which scenario, in table order. The first row of each scenario is its baseline. */
import type { ScenarioName } from './workload.js';

export interface PlannedRow {
  scenario: ScenarioName;
  /** bench/cases/<caseFile>.ts */
  caseFile: string;
  variant: string;
  label: string;
  role: 'baseline' | 'reference' | 'contender';
  /** Options the case file passes to its library on top of its own set-up (default none). */
  options?: Readonly<Record<string, unknown>>;
  /**
   * Label of another row of the scenario this one is a setting of: the report then gives this row's cost over that
   * row's, paired round by round (below 1 = this setting is faster).
   */
  versus?: string;
}

/**
 * reprise with ioredis auto-pipelining on (`redisAutoPipelining: true`), next to reprise as shipped, wherever a
 * scenario talks to Redis: both take turns in the same rounds, so their ratio is free of the machine's slow spells.
 */
const REPRISE_AUTO_PIPELINING = { label: 'reprise (auto-pipelining)', options: { redisAutoPipelining: true }, versus: 'reprise' } as const;

export const SCENARIO_TITLES: Record<ScenarioName, string> = {
  'l1-get-hit': 'L1 get hit',
  'redis-get-hit': 'Redis get hit (L1 off or cold)',
  'tiered-set': 'tiered set, ~1 KB value with a Date',
  'get-or-set-storm': 'getOrSet storm, 1000 callers per fresh key (ops = callers)',
};

export const PLAN: PlannedRow[] = [
  { scenario: 'l1-get-hit', caseFile: 'bare', variant: 'lru-get', label: 'lru-cache get', role: 'baseline' },
  { scenario: 'l1-get-hit', caseFile: 'bare', variant: 'lru-get-async', label: 'lru-cache get, awaited in an async fn', role: 'reference' },
  { scenario: 'l1-get-hit', caseFile: 'reprise', variant: 'l1-get', label: 'reprise', role: 'contender' },
  { scenario: 'l1-get-hit', caseFile: 'bentocache', variant: 'l1-get', label: 'bentocache', role: 'contender' },
  { scenario: 'l1-get-hit', caseFile: 'cache-manager', variant: 'l1-get', label: 'cache-manager 7', role: 'contender' },

  { scenario: 'redis-get-hit', caseFile: 'bare', variant: 'ioredis-get', label: 'ioredis GET', role: 'baseline' },
  { scenario: 'redis-get-hit', caseFile: 'bare', variant: 'ioredis-get-parse', label: 'ioredis GET + JSON.parse', role: 'reference' },
  { scenario: 'redis-get-hit', caseFile: 'reprise', variant: 'redis-get', label: 'reprise', role: 'contender' },
  { scenario: 'redis-get-hit', caseFile: 'reprise', variant: 'redis-get', role: 'contender', ...REPRISE_AUTO_PIPELINING },
  { scenario: 'redis-get-hit', caseFile: 'bentocache', variant: 'redis-get', label: 'bentocache', role: 'contender' },
  { scenario: 'redis-get-hit', caseFile: 'cache-manager', variant: 'redis-get', label: 'cache-manager 7', role: 'contender' },

  { scenario: 'tiered-set', caseFile: 'bare', variant: 'by-hand-set', label: 'lru-cache set + ioredis SET', role: 'baseline' },
  { scenario: 'tiered-set', caseFile: 'reprise', variant: 'set', label: 'reprise', role: 'contender' },
  { scenario: 'tiered-set', caseFile: 'reprise', variant: 'set', role: 'contender', ...REPRISE_AUTO_PIPELINING },
  { scenario: 'tiered-set', caseFile: 'bentocache', variant: 'set', label: 'bentocache', role: 'contender' },
  { scenario: 'tiered-set', caseFile: 'cache-manager', variant: 'set', label: 'cache-manager 7', role: 'contender' },

  { scenario: 'get-or-set-storm', caseFile: 'bare', variant: 'by-hand-cache-aside', label: 'cache-aside by hand', role: 'baseline' },
  { scenario: 'get-or-set-storm', caseFile: 'reprise', variant: 'get-or-set', label: 'reprise', role: 'contender' },
  { scenario: 'get-or-set-storm', caseFile: 'reprise', variant: 'get-or-set', role: 'contender', ...REPRISE_AUTO_PIPELINING },
  { scenario: 'get-or-set-storm', caseFile: 'bentocache', variant: 'get-or-set', label: 'bentocache', role: 'contender' },
  { scenario: 'get-or-set-storm', caseFile: 'cache-manager', variant: 'get-or-set', label: 'cache-manager 7', role: 'contender' },
];
