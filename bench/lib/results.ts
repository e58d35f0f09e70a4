/** Writes a section's results to bench/results/<name>.json and <name>.md, next to the machine they came from. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineLine, type Machine } from './machine.js';

export const RESULTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../results');

export interface WrittenResults {
  json: string;
  markdown: string;
}

export function writeResults(name: string, title: string, machine: Machine, command: string, data: unknown, body: string): WrittenResults {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = path.join(RESULTS_DIR, `${name}.json`);
  const markdown = path.join(RESULTS_DIR, `${name}.md`);
  writeFileSync(json, `${JSON.stringify({ machine, command, ...(data as object) }, null, 2)}\n`);
  writeFileSync(markdown, `# ${title}\n\n\`${command}\` on ${machineLine(machine)}, ${machine.date}.\n\n${body}\n`);
  return { json: path.relative(process.cwd(), json), markdown: path.relative(process.cwd(), markdown) };
}
