/** The built package as consumers load it: require() from CommonJS and import from ESM (`npm run build` first; .ci/run does). */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../src/version.js';
import packageJson from '../package.json' with { type: 'json' };

const built = existsSync('dist/index.cjs') && existsSync('dist/index.js') && existsSync('dist/index.d.ts');
if (!built && process.env.CI === 'true') throw new Error('dist/ is missing: CI builds before it tests');

function node(args: string[]): string {
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 30_000 });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return run.stdout.trim();
}

// The schedule is on, so node-cron loads too; a warm runs through the built code.
const PROBE = `r.createReprise({ env: {}, logger: r.silentLogger, computeRecommendations: async () => ({ recommendations: [] }) })
  .then(async (x) => {
    if (!x.popularMoods.schedule.enabled || (await x.popularMoods.warm({ moods: ['calm'] })).status !== 'succeeded') throw new Error('warm');
    console.log(Object.keys(x).sort().join(','));
    await x.close();
  })`;

describe.skipIf(!built)('the built package', () => {
  it('works from CommonJS', () => {
    expect(node(['-e', `const r = require('./dist/index.cjs'); ${PROBE}`])).toBe('cache,close,idRegistry,metricsHandler,popularMoods,profile,reccobeats,router,telemetry');
  });

  it('works from ESM', () => {
    expect(node(['--input-type=module', '-e', `import * as r from '${process.cwd()}/dist/index.js'; await ${PROBE};`]))
      .toBe('cache,close,idRegistry,metricsHandler,popularMoods,profile,reccobeats,router,telemetry');
  });
});

it('reports the version of package.json as its tracer version', () => {
  expect(VERSION).toBe(packageJson.version);
});
