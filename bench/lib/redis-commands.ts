/** Commands a Redis server has received, from INFO commandstats, so a bench can say what each operation cost there. */
import type { Redis } from 'ioredis';

export type CommandCounts = Record<string, number>;

export async function commandCounts(control: Redis): Promise<CommandCounts> {
  const text = await control.info('commandstats');
  const counts: CommandCounts = {};
  for (const line of text.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match) counts[match[1]!] = Number(match[2]);
  }
  return counts;
}

/** Calls made between two readings, per command, leaving out the INFO calls of the reading itself. */
export function commandsBetween(before: CommandCounts, after: CommandCounts): CommandCounts {
  const made: CommandCounts = {};
  for (const [command, calls] of Object.entries(after)) {
    const delta = calls - (before[command] ?? 0);
    if (delta > 0 && command !== 'info') made[command] = delta;
  }
  return made;
}
