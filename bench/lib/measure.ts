/**
 * A small throughput meter: warm up until the JIT settles and size a round to last about `roundMs`, then time rounds
 * on demand and report ops/s. Before each round: a full GC when node has --expose-gc, and an untimed lead-in.
 */
import type { Workload } from './workload.js';

const LEAD_IN_SHARE = 20;
const LEAD_IN_MIN_CALLS = 10;

export class Meter {
  /** Calls made so far, warm-up included; also the next call's index. */
  private calls = 0;
  private callsPerRound = 1;

  constructor(private readonly workload: Workload) {}

  get opsPerRound(): number {
    return this.callsPerRound * (this.workload.opsPerRun ?? 1);
  }

  /** Doubling batches until `warmupMs` has passed; the last batch's rate sizes the rounds. */
  async warmUp(warmupMs: number, roundMs: number): Promise<void> {
    let batch = 1;
    let rate = 0;
    const ends = performance.now() + warmupMs;
    do {
      const started = performance.now();
      await this.runCalls(batch);
      const elapsed = performance.now() - started;
      if (elapsed > 0) rate = batch / elapsed;
      if (elapsed < roundMs / 4) batch *= 2;
    } while (performance.now() < ends);
    this.callsPerRound = Math.max(1, Math.round(rate * roundMs));
  }

  /**
   * Readies a timed round: a full GC, then an untimed lead-in of a twentieth of its calls. Contenders take turns on
   * one CPU, so each round follows a wait in which the others ran; the first calls after it find the CPU's caches
   * holding another process's data, a wake-up cost no busy host pays per request, and one that would fall hardest
   * on the contenders with the most code.
   */
  async prepareRound(): Promise<void> {
    collectGarbage();
    await this.runCalls(Math.max(LEAD_IN_MIN_CALLS, Math.round(this.callsPerRound / LEAD_IN_SHARE)));
  }

  /** One timed round (after prepareRound); returns operations per second. */
  async round(): Promise<number> {
    const started = performance.now();
    await this.runCalls(this.callsPerRound);
    const elapsedMs = performance.now() - started;
    return (this.opsPerRound * 1_000) / elapsedMs;
  }

  private async runCalls(count: number): Promise<void> {
    const workload = this.workload;
    if (workload.sync) {
      for (let n = 0; n < count; n++) workload.run(this.calls++);
    } else {
      for (let n = 0; n < count; n++) await workload.run(this.calls++);
    }
  }
}

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
