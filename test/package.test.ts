/**
 * The package as a consumer gets it. The current sources are built (tsup, into a temporary directory, so dist/ is
 * neither needed nor trusted), packed with `npm pack` (so "files" decides what ships) and unpacked into
 * node_modules/reprise of a consumer directory. Then "reprise" and "reprise/simulator" are loaded with require() and
 * with import, and type checked by tsc as ESM and CommonJS (node16 resolution: "exports") and with the node10
 * resolution of older setups ("types" and "typesVersions"). Nothing here is skipped: a failed build fails the suite.
 */
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../src/version.js';
import packageJson from '../package.json' with { type: 'json' };

const run = promisify(execFile);
const repo = process.cwd();

/** Every runtime name of the main entry: what a host uses, nothing of the engine's inside. */
const MAIN_NAMES = [
  'CACHE_CATEGORIES',
  'ComputeNotConfiguredError',
  'DEFAULT_POPULAR_MOODS',
  'EncodeError',
  'HttpError',
  'InvalidIdError',
  'InvalidKeyError',
  'InvalidRecommendationsError',
  'MAX_KEY_PART_LENGTH',
  'MAX_MOOD_PROMPT_LENGTH',
  'MAX_VALUE_DEPTH',
  'PopularMoodsClosedError',
  'ReccobeatsError',
  'RedisUrlError',
  'RepriseInputError',
  'RepriseOptionsError',
  'UnknownCategoryError',
  'UnsupportedValueError',
  'WarmAlreadyRunningError',
  'WarmScheduleError',
  'adminAuth',
  'consoleLogger',
  'createAdminRouter',
  'createCache',
  'createReprise',
  'jsonErrorHandler',
  'metricsHandler',
  'normalizeMoodPrompt',
  'silentLogger',
].join(',');
const SIMULATOR_NAMES = ['SIMULATOR_NOTICE', 'spotifyTrackIds', 'startReccobeatsSimulator'].join(',');
/** Names the main entry once carried and must not: engine classes, wiring, telemetry internals, the simulator. */
const NOT_EXPORTED = [
  'TwoTierCache',
  'RepriseCache',
  'createCacheParts',
  'BULK_CHUNK_IDS',
  'IdRegistry',
  'ReccobeatsClient',
  'PopularMoods',
  'Profiler',
  'RepriseMetrics',
  'Telemetry',
  'parseRedisUrl',
  'startReccobeatsSimulator',
  'spotifyTrackIds',
  'SimulatedCatalog',
];

const REPRISE_KEYS = 'cache,close,idRegistry,metricsHandler,popularMoods,profile,reccobeats,router,telemetry';

/**
 * The body of every consumer script, given `r` (the main entry) and `s` (the simulator entry): it prints the runtime
 * names of both, checks that an error class of the main entry is the one its code throws, then runs reprise (schedule
 * on, so node-cron loads; one warm) against the simulator through the built code.
 */
const PROBE = `
const names = (m) => Object.keys(m).filter((k) => k !== 'default' && k !== 'module.exports').sort().join(',');
const silent = { debug() {}, info() {}, warn() {}, error() {} };
// The operator page, found by the built router from the unpacked package: GET / and one of its modules.
const operatorPage = async (router) => {
  const app = e();
  app.use('/admin', router);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const base = 'http://127.0.0.1:' + server.address().port + '/admin/';
    const html = await fetch(base);
    const script = await fetch(base + 'main.js');
    return [html.status, (await html.text()).includes('src="main.js"'), script.status, script.headers.get('content-security-policy') !== null].join(',');
  } finally {
    server.close();
  }
};
const main = async () => {
  await r.createReprise({ env: {}, nope: 1 }).then(
    () => { throw new Error('an unknown option was accepted'); },
    (error) => { if (!(error instanceof r.RepriseOptionsError)) throw error; },
  );
  const simulator = await s.startReccobeatsSimulator({ logger: silent });
  const x = await r.createReprise({
    env: {},
    logger: silent,
    reccobeats: { baseUrl: simulator.url },
    computeRecommendations: async () => ({ recommendations: [] }),
  });
  try {
    if (!x.popularMoods.schedule.enabled || (await x.popularMoods.warm({ moods: ['calm'] })).status !== 'succeeded') throw new Error('warm');
    const ids = s.spotifyTrackIds(8);
    const converted = await x.reccobeats.convertSpotifyTracksToReccobeat(ids);
    if (converted.size === 0 || simulator.requests.total === 0) throw new Error('no conversion through the simulator');
    const page = await operatorPage(x.router);
    console.log(JSON.stringify({ main: names(r), simulator: names(s), reprise: Object.keys(x).sort().join(','), page }));
  } finally {
    await x.close();
    await simulator.close();
  }
};
`;

/**
 * Type checked against the unpacked package. The declarations must offer exactly the runtime names as values (a
 * Record over `keyof typeof` the entry fails on a missing or an extra one: a class exported as a type only must not
 * look constructible), and `// @ts-expect-error` fails the check if an internal is importable.
 */
const record = (names: string) => `{ ${names.split(',').map((name) => `${name}: true`).join(', ')} }`;
const TYPES = `
import * as mainEntry from 'reprise';
import * as simulatorEntry from 'reprise/simulator';
import { createReprise, InvalidKeyError, type CacheCategory, type Reprise, type RepriseCache, type RepriseOptions } from 'reprise';
import { spotifyTrackIds, startReccobeatsSimulator, type ReccobeatsSimulator } from 'reprise/simulator';
export const mainValues: Record<keyof typeof mainEntry, true> = ${record(MAIN_NAMES)};
export const simulatorValues: Record<keyof typeof simulatorEntry, true> = ${record(SIMULATOR_NAMES)};
// @ts-expect-error the engine class is not exported
import { TwoTierCache } from 'reprise';
// @ts-expect-error nor is the wiring of createReprise
import { createCacheParts } from 'reprise';
// @ts-expect-error nor is the profiler
import { Profiler } from 'reprise';
// @ts-expect-error the simulator is reprise/simulator, not the main entry
import { startReccobeatsSimulator as fromMain } from 'reprise';

export async function use(): Promise<number> {
  const simulator: ReccobeatsSimulator = await startReccobeatsSimulator();
  const options: RepriseOptions = { reccobeats: { baseUrl: simulator.url } };
  const reprise: Reprise = await createReprise(options);
  const cache: RepriseCache = reprise.cache;
  const category: CacheCategory = 'recommendations';
  await cache.set(category, ['user', 'calm'], spotifyTrackIds(2));
  const error: Error = new InvalidKeyError('x');
  const converted: Map<string, string> = await reprise.reccobeats.convertSpotifyTracksToReccobeat(spotifyTrackIds(2));
  await reprise.close();
  await simulator.close();
  return converted.size + error.message.length + simulator.requests.total;
}
`;

let root = '';
let consumer = '';
let packed: string[] = [];

function node(file: string): { main: string; simulator: string; reprise: string; page: string } {
  const result = spawnSync(process.execPath, [file], { cwd: consumer, encoding: 'utf8', timeout: 60_000 });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout.trim()) as { main: string; simulator: string; reprise: string; page: string };
}

async function tsc(project: string): Promise<string> {
  const compiler = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    await run(process.execPath, [compiler, '-p', project], { cwd: consumer });
    return '';
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    return `${failed.stdout ?? ''}${failed.stderr ?? ''}` || failed.message;
  }
}

beforeAll(async () => {
  // Inside the repository (.tmp/ is ignored by git), so the package's dependencies resolve from its node_modules.
  mkdirSync(join(repo, '.tmp'), { recursive: true });
  root = mkdtempSync(join(repo, '.tmp', 'package-'));
  const stage = join(root, 'stage');
  mkdirSync(stage);
  writeFileSync(join(stage, 'package.json'), readFileSync(join(repo, 'package.json')));
  writeFileSync(join(stage, 'README.md'), readFileSync(join(repo, 'README.md')));
  cpSync(join(repo, 'operator'), join(stage, 'operator'), { recursive: true });
  await run(process.execPath, [join(repo, 'node_modules', 'tsup', 'dist', 'cli-default.js'), '--out-dir', join(stage, 'dist'), '--silent'], {
    cwd: repo,
    maxBuffer: 64 * 1024 * 1024,
  });

  const pack = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', root], { cwd: stage, maxBuffer: 64 * 1024 * 1024 });
  const [tarball] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  if (!tarball) throw new Error(`npm pack printed no tarball: ${pack.stdout}`);
  packed = tarball.files.map((file) => file.path).sort();

  consumer = join(root, 'consumer');
  const installed = join(consumer, 'node_modules', 'reprise');
  mkdirSync(installed, { recursive: true });
  await run('tar', ['-xzf', join(root, tarball.filename), '-C', installed, '--strip-components=1']);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'reprise-consumer', private: true, type: 'commonjs' }));

  writeFileSync(join(consumer, 'probe.cjs'), `const r = require('reprise');\nconst s = require('reprise/simulator');\nconst e = require('express');\n${PROBE}\nmain().catch((error) => { console.error(error); process.exitCode = 1; });\n`);
  writeFileSync(join(consumer, 'probe.mjs'), `import * as r from 'reprise';\nimport * as s from 'reprise/simulator';\nimport e from 'express';\n${PROBE}\nawait main();\n`);

  const compilerOptions = { target: 'ES2022', lib: ['ES2023'], strict: true, noEmit: true, types: ['node'], skipLibCheck: false };
  writeFileSync(join(consumer, 'esm.mts'), TYPES);
  writeFileSync(join(consumer, 'cjs.cts'), TYPES);
  writeFileSync(join(consumer, 'node10.ts'), TYPES);
  writeFileSync(join(consumer, 'tsconfig.node16.json'), JSON.stringify({
    compilerOptions: { ...compilerOptions, module: 'node16', moduleResolution: 'node16' },
    files: ['esm.mts', 'cjs.cts'],
  }));
  writeFileSync(join(consumer, 'tsconfig.node10.json'), JSON.stringify({
    // esModuleInterop as `tsc --init` sets it: the declarations default-import express, as the sources do.
    compilerOptions: { ...compilerOptions, module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true },
    files: ['node10.ts'],
  }));
}, 240_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships both entries for ESM and CommonJS, with their types', () => {
    for (const entry of ['index', 'simulator']) {
      for (const file of [`${entry}.js`, `${entry}.cjs`, `${entry}.d.ts`, `${entry}.d.cts`]) expect(packed).toContain(`dist/${file}`);
    }
    expect(packed).toContain('package.json');
    expect(packed).toContain('README.md');
  });

  it('ships the reprise command as its "bin", runnable from the unpacked package', () => {
    const bin = (packageJson as { bin?: Record<string, string> }).bin?.reprise;
    expect(bin).toBe('./dist/cli.js');
    expect(packed).toContain('dist/cli.js');
    const file = join(consumer, 'node_modules', 'reprise', 'dist', 'cli.js');
    expect(readFileSync(file, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const result = spawnSync(process.execPath, [file, '--version'], { cwd: consumer, encoding: 'utf8', timeout: 60_000 });
    expect([result.status, result.stdout.trim(), result.stderr]).toEqual([0, packageJson.version, '']);
    const usage = spawnSync(process.execPath, [file, 'stats'], { cwd: consumer, encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH } });
    expect([usage.status, usage.stderr]).toEqual([2, expect.stringContaining('--url or REPRISE_URL')]);
  });

  it('ships the operator page, every file of operator/', () => {
    for (const file of readdirSync(join(repo, 'operator'))) expect(packed).toContain(`operator/${file}`);
  });

  it('works from CommonJS: require("reprise") and require("reprise/simulator")', () => {
    const seen = node('probe.cjs');
    expect(seen.page).toBe('200,true,200,true');
    expect(seen.main).toBe(MAIN_NAMES);
    expect(seen.simulator).toBe(SIMULATOR_NAMES);
    expect(seen.reprise).toBe(REPRISE_KEYS);
  });

  it('works from ESM: import "reprise" and "reprise/simulator"', () => {
    const seen = node('probe.mjs');
    expect(seen.page).toBe('200,true,200,true');
    expect(seen.main).toBe(MAIN_NAMES);
    expect(seen.simulator).toBe(SIMULATOR_NAMES);
    expect(seen.reprise).toBe(REPRISE_KEYS);
  });

  it('keeps the engine, telemetry internals and the simulator out of the main entry', () => {
    const main = node('probe.mjs').main.split(',');
    for (const name of NOT_EXPORTED) expect(main).not.toContain(name);
  });

  it('type checks for ESM and CommonJS consumers (node16 resolution: "exports")', async () => {
    expect(await tsc('tsconfig.node16.json')).toBe('');
  }, 120_000);

  it('type checks with the node10 resolution ("types" and "typesVersions")', async () => {
    expect(await tsc('tsconfig.node10.json')).toBe('');
  }, 120_000);
});

it('reports the version of package.json as its tracer version', () => {
  expect(VERSION).toBe(packageJson.version);
});
