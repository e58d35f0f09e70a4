/**
 * Where the libraries bench runs its processes: redis-server alone on the last CPU, every contender on the first.
 * Left to the scheduler, a client and its server sometimes share a core (a round trip then costs a third of what it
 * costs across cores on this kind of machine) and sometimes do not, and it decides anew for each process: two
 * contenders would be measured in different regimes, and the same contender in different regimes from one run to the
 * next. Fixed, every contender meets the same round trip: that of a server on a core (or a host) of its own, as in
 * production. Without `taskset` or with a single CPU, nothing is pinned and the report says so.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';

export interface Placement {
  serverCpu: number;
  contenderCpu: number;
}

export function choosePlacement(): Placement | null {
  const cpus = os.availableParallelism();
  const hasTaskset = spawnSync('taskset', ['--version'], { encoding: 'utf8' }).status === 0;
  if (cpus < 2 || !hasTaskset) return null;
  return { serverCpu: cpus - 1, contenderCpu: 0 };
}

/** Binds a running process, every thread of it, to one CPU; threads it starts later inherit the binding. */
export function pinProcess(pid: number | undefined, cpu: number): void {
  if (pid === undefined) throw new Error('cannot pin a process that is not running');
  const pinned = spawnSync('taskset', ['--all-tasks', '--pid', '--cpu-list', String(cpu), String(pid)], { encoding: 'utf8' });
  if (pinned.status !== 0) throw new Error(`taskset could not pin process ${pid} to CPU ${cpu}: ${pinned.stderr.trim()}`);
}

export function placementText(placement: Placement | null): string {
  return placement
    ? `redis-server pinned to CPU ${placement.serverCpu} and every contender to CPU ${placement.contenderCpu} (taskset), so each meets the same round trip`
    : 'processes not pinned (no taskset, or a single CPU): round trips vary with where the scheduler puts each process';
}
