import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // superjson ships as ESM only; bundling it keeps require('reprise') working on every Node 20 release.
  noExternal: ['superjson', 'copy-anything', 'is-what'],
});
