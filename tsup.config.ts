import { defineConfig } from 'tsup';

export default defineConfig({
  // The main entry, the ReccoBeats simulator as `reprise/simulator` (kept out of the main entry), and the `reprise`
  // command (package "bin"; its #! line is kept and the file made executable).
  entry: { index: 'src/index.ts', simulator: 'src/simulator.ts', cli: 'src/cli/main.ts' },
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
