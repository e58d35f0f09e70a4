/**
 * `npm run bench`: reprise against its baselines, every figure a ratio to a baseline measured in the same run.
 * Sections: libraries (part 1), registry (part 2), scenarios (part 3); `--only=<sections>`, `--quick`.
 * Results go to bench/results/<section>.json and .md.
 */
import { describeMachine, machineLine } from './lib/machine.js';
import { writeResults } from './lib/results.js';
import { parseSettings } from './lib/settings.js';
import { benchLibraries } from './sections/libraries.js';
import { benchRegistry } from './sections/registry.js';
import { benchScenarios } from './sections/scenarios.js';

const settings = parseSettings(process.argv.slice(2));
const machine = describeMachine();
const log = (line: string) => process.stderr.write(`${line}\n`);
const started = performance.now();

console.log(`reprise bench on ${machineLine(machine)}`);
console.log(`${settings.rounds} rounds of ~${settings.roundMs} ms after ${settings.warmupMs} ms warm-up\n`);

if (settings.sections.includes('libraries')) {
  log('libraries: one process per contender');
  const outcome = await benchLibraries(settings, log);
  console.log(`## Side by side\n\n${outcome.markdown}\n`);
  const written = writeResults('libraries', 'reprise side by side', machine, settings.command, { settings, rows: outcome.rows, bars: outcome.bars }, outcome.markdown);
  log(`wrote ${written.markdown} and ${written.json}`);
}

if (settings.sections.includes('registry')) {
  log('registry: bulk check and bytes per ID');
  const outcome = await benchRegistry(settings, log);
  console.log(`## ID registry\n\n${outcome.markdown}\n`);
  const written = writeResults('registry', 'reprise ID registry', machine, settings.command, { checks: outcome.checks, footprint: outcome.footprint }, outcome.markdown);
  log(`wrote ${written.markdown} and ${written.json}`);
}

if (settings.sections.includes('scenarios')) {
  log(`scenarios: ${settings.requests} requests each through the demo back end`);
  const outcome = await benchScenarios({ requests: settings.requests }, log);
  console.log(`## Latency scenarios\n\n${outcome.markdown}\n`);
  const written = writeResults('scenarios', "the original system's latency scenarios", machine, settings.command, { rows: outcome.rows }, outcome.markdown);
  log(`wrote ${written.markdown} and ${written.json}`);
}

log(`bench finished in ${((performance.now() - started) / 1_000).toFixed(0)} s`);
