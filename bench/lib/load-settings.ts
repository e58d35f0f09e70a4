/** Command-line settings and scenarios of `npm run bench:load`. */

export const SCENARIO_NAMES = ['healthy', 'saturated', 'killed', 'stopped', 'full', 'wrongtype'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface Scenario {
  name: ScenarioName;
  /** What the table calls it. */
  label: string;
  /** 'load' scenarios carry the saturation bars; 'fault' ones the no-failed-request bar. */
  kind: 'load' | 'fault';
  /** HTTP connections in all, shared out over the hosts. */
  connections: number;
  pipelining: number;
}

export const SCENARIOS: readonly Scenario[] = [
  { name: 'healthy', label: 'healthy', kind: 'load', connections: 20, pipelining: 1 },
  { name: 'saturated', label: 'saturated', kind: 'load', connections: 200, pipelining: 2 },
  { name: 'killed', label: 'Redis killed (SIGKILL), restarted', kind: 'fault', connections: 50, pipelining: 1 },
  { name: 'stopped', label: 'Redis SIGSTOPped for 2 s', kind: 'fault', connections: 50, pipelining: 1 },
  { name: 'full', label: 'Redis full (maxmemory, noeviction)', kind: 'fault', connections: 50, pipelining: 1 },
  { name: 'wrongtype', label: 'wrong-type hot keys (a LIST)', kind: 'fault', connections: 50, pipelining: 1 },
];

/** `--auto-pipelining`: reprise's `redisAutoPipelining` in the hosts; `both` compares the two in one run. */
export const AUTO_PIPELINING_CHOICES = ['on', 'off', 'both'] as const;
export type AutoPipeliningChoice = (typeof AUTO_PIPELINING_CHOICES)[number];
/** What one group of hosts runs with: 'default' passes no option, so the hosts have reprise's default. */
export type PipeliningSetting = 'on' | 'off' | 'default';
/** Scenarios `--auto-pipelining=both` runs when `--only` does not name others: the two without a fault. */
export const COMPARED_SCENARIOS: readonly ScenarioName[] = ['healthy', 'saturated'];
/** Times each scenario runs under each setting with `--auto-pipelining=both`, unless `--pairs` says otherwise. */
export const DEFAULT_PAIRS = 2;

/** How long Redis stays stopped in the SIGSTOP scenario (the figure). */
export const STOP_MS = 2_000;
/** A scenario must be long enough to hold a 2 s stop with load on both sides. */
export const MIN_DURATION_MS = 3_000;

export interface LoadSettings {
  workers: number;
  /** Load time of each scenario. */
  durationMs: number;
  quick: boolean;
  acrossWorkers: boolean;
  scenarios: Scenario[];
  /** `--auto-pipelining` as given; undefined when absent (the hosts then run with reprise's default). */
  autoPipelining: AutoPipeliningChoice | undefined;
  /** The settings the host groups run with, one group each: two ('off', 'on') for `both`, else one. */
  pipeliningSettings: PipeliningSetting[];
  /**
   * With `both`: how many times each scenario runs under each setting. Pair n runs the two settings back to back,
   * off first in odd pairs and on first in even ones, so neither always runs on a machine the other warmed or loaded.
   */
  pairs: number;
  /** Distinct keys each scenario draws from, the first `hotKeys` of them getting `hotShare` of the requests. */
  keys: number;
  hotKeys: number;
  hotShare: number;
  /** The simulated computation of a missing key. */
  computeMs: number;
  /** Entries of each host's memory tier: fewer than the keys, so Redis serves part of the reads. */
  memoryEntries: number;
  command: string;
}

const FULL_MS = 10_000;
const QUICK_MS = 4_000;
const FLAGS = ['--quick', '--no-across-workers'];
const VALUED = ['workers', 'seconds', 'durationMs', 'only', 'auto-pipelining', 'pairs'];

export function parseLoadSettings(argv: readonly string[]): LoadSettings {
  const quick = argv.includes('--quick');
  const value = (name: string) => {
    const prefix = `--${name}=`;
    return argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
  };
  const whole = (name: string, min: number): number | undefined => {
    const text = value(name);
    if (text === undefined) return undefined;
    const parsed = Number(text);
    if (!Number.isInteger(parsed) || parsed < min) throw new RangeError(`--${name} must be a whole number of at least ${min}, got ${text}`);
    return parsed;
  };
  const unknown = argv.filter((arg) => !FLAGS.includes(arg) && !VALUED.some((name) => arg.startsWith(`--${name}=`)));
  if (unknown.length) throw new RangeError(`unknown option(s) ${unknown.join(' ')}; see bench/README.md`);

  const seconds = whole('seconds', 1);
  const durationMsOption = whole('durationMs', 1);
  if (seconds !== undefined && durationMsOption !== undefined) throw new RangeError('give --seconds or --durationMs, not both');
  const durationMs = durationMsOption ?? (seconds === undefined ? (quick ? QUICK_MS : FULL_MS) : seconds * 1_000);
  if (durationMs < MIN_DURATION_MS) throw new RangeError(`a scenario needs at least ${MIN_DURATION_MS} ms (Redis is stopped for ${STOP_MS} ms in one), got ${durationMs}`);

  const autoPipelining = value('auto-pipelining');
  if (autoPipelining !== undefined && !(AUTO_PIPELINING_CHOICES as readonly string[]).includes(autoPipelining)) {
    throw new RangeError(`--auto-pipelining takes ${AUTO_PIPELINING_CHOICES.join(', ')}; got ${autoPipelining}`);
  }
  const choice = autoPipelining as AutoPipeliningChoice | undefined;
  const pairs = whole('pairs', 1);
  if (pairs !== undefined && choice !== 'both') throw new RangeError('--pairs goes with --auto-pipelining=both');

  const only = value('only');
  const names = only === undefined ? [...(choice === 'both' ? COMPARED_SCENARIOS : SCENARIO_NAMES)] : only.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!(SCENARIO_NAMES as readonly string[]).includes(name)) throw new RangeError(`--only takes ${SCENARIO_NAMES.join(', ')}; got ${name}`);
  }
  return {
    workers: whole('workers', 1) ?? 2,
    durationMs,
    quick,
    acrossWorkers: !argv.includes('--no-across-workers'),
    scenarios: SCENARIOS.filter((scenario) => names.includes(scenario.name)),
    autoPipelining: choice,
    pipeliningSettings: choice === 'both' ? ['off', 'on'] : [choice ?? 'default'],
    pairs: choice === 'both' ? (pairs ?? DEFAULT_PAIRS) : 1,
    keys: 2_000,
    hotKeys: 100,
    hotShare: 0.8,
    computeMs: 30,
    memoryEntries: 1_000,
    command: ['npm run bench:load', ...(argv.length ? ['--', ...argv] : [])].join(' '),
  };
}

/**
 * The key of request `index` of a scenario: one namespace per scenario, so none inherits another's entries; `run`
 * (e.g. `on2`) gives each run of a scenario its own when it runs more than once. The index stays last (isHotKey).
 */
export function scenarioKey(scenario: ScenarioName | 'warmup', index: number, run = ''): string {
  return run ? `${scenario}-${run}-${index}` : `${scenario}-${index}`;
}

/** Picks a key index: `hotShare` of the draws among the first `hotKeys`, the rest among all `keys`. */
export function drawKey(settings: Pick<LoadSettings, 'keys' | 'hotKeys' | 'hotShare'>, random: () => number = Math.random): number {
  return random() < settings.hotShare ? Math.floor(random() * settings.hotKeys) : Math.floor(random() * settings.keys);
}
