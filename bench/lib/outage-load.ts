/**
 * A steady mixed load on a reprise cache for `bench:outage`: several workers call get (memory hit and Redis miss),
 * set, getOrSet, delete and now and then invalidate, each call timed and filed under the phase it started in.
 */
import { setTimeout as pause } from 'node:timers/promises';
import type { RepriseCache } from '../../src/index.js';
import { benchValue } from './payload.js';

export const CALL_KINDS = ['get (memory hit)', 'get (miss, asks Redis)', 'set', 'getOrSet (miss)', 'delete', 'invalidate'] as const;
export type CallKind = (typeof CALL_KINDS)[number];

export interface CallRecord {
  phase: string;
  kind: CallKind;
  ms: number;
  failed: boolean;
}

const CATEGORY = 'recommendations';
/** Keys every worker reads from memory. */
export const HOT_KEYS = 100;
/** Keys each worker sets and deletes: few enough that the hot keys stay in memory. */
const KEYS_PER_WORKER = 40;
/** One call in this many is an invalidation (SCAN + UNLINK of a category). */
const INVALIDATE_EVERY = 50;

export class OutageLoad {
  readonly records: CallRecord[] = [];
  phase = 'healthy';
  private running = false;
  private workers: Promise<void>[] = [];
  private sequence = 0;

  constructor(private readonly cache: RepriseCache, private readonly workerCount: number, private readonly pacingMs: number) {}

  async prime(): Promise<void> {
    for (let i = 0; i < HOT_KEYS; i++) await this.cache.set(CATEGORY, `hot-${i}`, benchValue(i));
  }

  start(): void {
    this.running = true;
    this.workers = Array.from({ length: this.workerCount }, (_, worker) => this.work(worker));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  private async work(worker: number): Promise<void> {
    while (this.running) {
      const n = this.sequence++;
      const kind: CallKind = n % INVALIDATE_EVERY === 0 ? 'invalidate' : CALL_KINDS[n % (CALL_KINDS.length - 1)]!;
      const answer = await this.timed(kind, () => this.call(kind, worker, n));
      // A hot key lost from memory (an instance drops its memory tier after its subscription broke) is put back,
      // as an application would after a miss; untimed, since it is not the call being measured.
      if (kind === 'get (memory hit)' && answer === undefined) await this.cache.set(CATEGORY, `hot-${n % HOT_KEYS}`, benchValue(n));
      await pause(this.pacingMs);
    }
  }

  private call(kind: CallKind, worker: number, n: number): Promise<unknown> {
    const cache = this.cache;
    switch (kind) {
      case 'get (memory hit)':
        return cache.get(CATEGORY, `hot-${n % HOT_KEYS}`);
      case 'get (miss, asks Redis)':
        return cache.get(CATEGORY, `cold-${worker}-${n}`);
      case 'set':
        return cache.set('top_tracks', `w${worker}-${n % KEYS_PER_WORKER}`, benchValue(n));
      case 'getOrSet (miss)':
        return cache.getOrSet('mood_analysis', `m${n}`, () => benchValue(n));
      case 'delete':
        return cache.delete('top_tracks', `w${worker}-${(n + KEYS_PER_WORKER / 2) % KEYS_PER_WORKER}`);
      case 'invalidate':
        return cache.invalidate('mood_analysis');
    }
  }

  private async timed(kind: CallKind, call: () => Promise<unknown>): Promise<unknown> {
    const phase = this.phase;
    const started = performance.now();
    let failed = false;
    let answer: unknown;
    try {
      answer = await call();
    } catch {
      failed = true;
    }
    this.records.push({ phase, kind, ms: performance.now() - started, failed });
    return answer;
  }
}
