/** Command-line settings of `npm run bench`: which sections (and scenarios of the libraries section), and how long to measure. */
import { SCENARIO_TITLES } from './plan.js';
import type { ScenarioName } from './workload.js';

export const SECTIONS = ['libraries', 'registry', 'scenarios'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchSettings {
  sections: Section[];
  /** Scenarios of the libraries section to run (default all). */
  scenarios: ScenarioName[];
  /** Timed rounds per contender, interleaved across the contenders of a scenario. */
  rounds: number;
  roundMs: number;
  warmupMs: number;
  /** Requests per latency scenario (part 3). */
  requests: number;
  quick: boolean;
  command: string;
}

const FULL = { rounds: 12, roundMs: 250, warmupMs: 800, requests: 7 };
const QUICK = { rounds: 4, roundMs: 120, warmupMs: 250, requests: 3 };

export function parseSettings(argv: readonly string[]): BenchSettings {
  const quick = argv.includes('--quick');
  const base = quick ? QUICK : FULL;
  const value = (name: string) => {
    const prefix = `--${name}=`;
    return argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
  };
  const number = (name: keyof typeof FULL) => {
    const text = value(name);
    if (text === undefined) return base[name];
    const parsed = Number(text);
    if (!Number.isInteger(parsed) || parsed <= 0) throw new RangeError(`--${name} must be a positive whole number, got ${text}`);
    return parsed;
  };
  const only = value('only');
  const sections = only === undefined ? [...SECTIONS] : only.split(',').map((name) => name.trim());
  for (const section of sections) {
    if (!(SECTIONS as readonly string[]).includes(section)) throw new RangeError(`--only takes ${SECTIONS.join(', ')}; got ${section}`);
  }
  const allScenarios = Object.keys(SCENARIO_TITLES) as ScenarioName[];
  const scenarios = value('scenarios')?.split(',').map((name) => name.trim()) ?? allScenarios;
  for (const scenario of scenarios) {
    if (!(allScenarios as string[]).includes(scenario)) throw new RangeError(`--scenarios takes ${allScenarios.join(', ')}; got ${scenario}`);
  }
  const unknown = argv.filter((arg) => arg !== '--quick' && !/^--(only|scenarios|rounds|roundMs|warmupMs|requests)=/.test(arg));
  if (unknown.length) throw new RangeError(`unknown option(s) ${unknown.join(' ')}; see bench/README.md`);
  return {
    sections: sections as Section[],
    scenarios: scenarios as ScenarioName[],
    rounds: number('rounds'),
    roundMs: number('roundMs'),
    warmupMs: number('warmupMs'),
    requests: number('requests'),
    quick,
    command: ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '),
  };
}
