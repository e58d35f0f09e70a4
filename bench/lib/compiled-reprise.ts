/**
 * reprise compiled as the package is built (esbuild, the compiler tsup runs, for node20), for the side-by-side bench.
 * The case files run through tsx, whose on-the-fly compile keeps function names by wrapping every named closure in a
 * call when it is created; the package ships without that, and the other contenders are compiled JavaScript from
 * node_modules. Measured through tsx, reprise would pay a development-time cost no host pays.
 */
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

type Entry = typeof import('./reprise-entry.js');

/** Inside the project, so the compiled file finds the dependencies in its node_modules. */
const CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/', import.meta.url));

export async function compiledReprise(): Promise<Entry> {
  mkdirSync(CACHE_DIR, { recursive: true });
  const dir = mkdtempSync(path.join(CACHE_DIR, 'reprise-bench-'));
  const outfile = path.join(dir, 'reprise.mjs');
  try {
    await build({
      entryPoints: [fileURLToPath(new URL('./reprise-entry.ts', import.meta.url))],
      outfile,
      bundle: true,
      // Dependencies (ioredis, lru-cache, prom-client...) load from node_modules, as a host's would.
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'silent',
    });
    return (await import(pathToFileURL(outfile).href)) as Entry;
  } finally {
    // The module is loaded: its file is no longer needed.
    rmSync(dir, { recursive: true, force: true });
  }
}
