import { defineConfig } from 'tsup';

export default defineConfig({
  // The main entry, and the ReccoBeats simulator as `reprise/simulator` (kept out of the main entry).
  entry: { index: 'src/index.ts', simulator: 'src/simulator.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // import.meta.url in the CommonJS build too: the router finds the operator page relative to its own file.
  shims: true,
  // superjson ships as ESM only; bundling it keeps require('reprise') working on every Node 20 release.
  noExternal: ['superjson', 'copy-anything', 'is-what'],
});
