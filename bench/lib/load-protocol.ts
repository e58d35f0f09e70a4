/** What `bench:load` and its host processes (bench/lib/load-host.ts) tell each other. */

export const HOST_CONFIG_VARIABLE = 'LOAD_HOST_CONFIG';

export interface HostConfig {
  redisUrl: string;
  keyPrefix: string;
  /** Ask getOrSet for one factory call across every process sharing Redis. */
  acrossWorkers: boolean;
  /** How long the simulated computation of a missing key waits. */
  computeMs: number;
  memoryEntries: number;
  /** reprise's `redisAutoPipelining`; absent: the option is not passed, so the host has reprise's default. */
  autoPipelining?: boolean;
}

/** `autoPipelining`: whether the connection reprise opened really pipelines automatically (ioredis' own option). */
export type HostMessage = { type: 'listening'; port: number; autoPipelining: boolean };

/** The part of `cache.stats()` the bench reads; fields the engine may not have yet are optional. */
export interface RedisTierStats {
  breaker?: string;
  timeouts?: number;
  errors?: number;
  skipped?: number;
  circuitOpenings?: number;
  errorsByReason?: Record<string, number>;
  refusedWrites?: number | Record<string, number>;
}

export interface HostSnapshot {
  pid: number;
  factoryCalls: number;
  /** Factory calls per key, for the keys of the scenario asked about. */
  perKey: Record<string, number>;
  /** The keys of that scenario this host was asked for. */
  requested: string[];
  stats: { cacheType: string; tiers: { redis: RedisTierStats } };
  /** Closed-to-open transitions of the breaker, sampled every 10 ms by the host. */
  sampledOpenings: number;
  /** Worst event-loop stall since the previous snapshot. */
  loopMaxMs: number;
  /** Warnings and errors the cache logged, by message, with how often. */
  logged: Record<string, number>;
  /** Log lines since the time asked for (epoch ms), the latest 200 at most. */
  log: { at: number; line: string }[];
}
