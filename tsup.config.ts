import { defineConfig } from 'tsup';

export default defineConfig({
  // The main entry, and the ReccoBeats simulator as `reprise/simulator` (kept out of the main entry).
  entry: { index: 'src/index.ts', simulator: 'src/simulator.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // superjson ships as ESM only; bundling it keeps require('reprise') working on every Node 20 release.
  noExternal: ['superjson', 'copy-anything', 'is-what'],
});
