/**
 * The getOrSet storm: 1000 concurrent callers ask for one key nobody has cached yet; the factory (an upstream that
 * answers on the next turn of the event loop) counts its calls. One run is one storm on a fresh key.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { benchValue, type BenchValue } from './payload.js';
import type { Workload } from './workload.js';

export const STORM_CALLERS = 1_000;

export type Factory = () => Promise<BenchValue>;

export interface StormOptions {
  /** One caller: read `key` through the library, computing it with `factory` on a miss. */
  call(key: string, factory: Factory): Promise<unknown>;
  /** More evidence of the contender's own (its settings, say), added to the storm counts. */
  evidence?(): Record<string, number | string>;
  close(): Promise<void>;
}

export function stormWorkload(options: StormOptions): Workload {
  let storms = 0;
  let factoryCalls = 0;
  let mostCallsInOneStorm = 0;
  let wrongAnswers = 0;

  return {
    opsPerRun: STORM_CALLERS,
    async run(i) {
      const key = `storm-${i}`;
      let callsThisStorm = 0;
      const expected = benchValue(i);
      const factory: Factory = async () => {
        callsThisStorm += 1;
        await nextTurn();
        return expected;
      };
      const answers = await Promise.all(Array.from({ length: STORM_CALLERS }, () => options.call(key, factory)));
      for (const answer of answers) {
        if ((answer as BenchValue | undefined)?.mood !== expected.mood) wrongAnswers += 1;
      }
      storms += 1;
      factoryCalls += callsThisStorm;
      mostCallsInOneStorm = Math.max(mostCallsInOneStorm, callsThisStorm);
    },
    evidence: () => ({
      ...options.evidence?.(),
      storms,
      factoryCallsPerStorm: storms ? factoryCalls / storms : 0,
      mostFactoryCallsInOneStorm: mostCallsInOneStorm,
      wrongAnswers,
    }),
    close: () => options.close(),
  };
}
