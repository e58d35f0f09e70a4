#!/usr/bin/env node
/** The `reprise` command (package "bin"); see program.ts. */
import { runCli } from './program.js';

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`reprise: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
