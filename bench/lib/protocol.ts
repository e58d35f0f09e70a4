/**
 * How the runner and a case child talk. The request travels in an environment variable; then, over the IPC
 * channel, the runner asks for a warm-up, rounds one at a time (so contenders' rounds interleave and share the
 * machine's noise), and finally the result.
 */
import type { ScenarioName } from './workload.js';

export const REQUEST_VARIABLE = 'REPRISE_BENCH_REQUEST';

export interface CaseRequest {
  variant: string;
  redisUrl: string;
  keyPrefix: string;
  /** Library options the plan row sets (bench/lib/plan.ts), handed to the case file as they are (default none). */
  options?: Record<string, unknown>;
  warmupMs: number;
  roundMs: number;
}

export type RunnerMessage = { type: 'warm-up' } | { type: 'round' } | { type: 'finish' };

export interface CaseResult {
  variant: string;
  scenario: ScenarioName;
  setup: string;
  /** Commands the Redis server received per operation during the timed rounds. */
  redisCommandsPerOp: Record<string, number>;
  evidence: Record<string, number | string>;
}

export type CaseMessage =
  | { type: 'ready' }
  | { type: 'warmed' }
  | { type: 'sample'; opsPerSecond: number }
  | { type: 'result'; result: CaseResult }
  | { type: 'failed'; message: string };

export function readRequest(): CaseRequest {
  const text = process.env[REQUEST_VARIABLE];
  if (!text) throw new Error(`${REQUEST_VARIABLE} is not set: bench cases are started by bench/run.ts`);
  return JSON.parse(text) as CaseRequest;
}
