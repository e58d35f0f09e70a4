/** Shared pieces of the registry tests: IDs, a clock the test moves, and registries on memory or a real backend. */
import { createCacheParts } from '../../src/cache/create-cache.js';
import type { RepriseCache } from '../../src/cache/reprise-cache.js';
import { RedisGateway } from '../../src/redis/gateway.js';
import { IdRegistry, type IdRegistryOptions } from '../../src/registry/id-registry.js';
import { silentLogger } from '../../src/logger.js';
import { sampleIds } from '../../bench/registry-footprint.js';

let seed = 1;

/** `count` fresh [spotifyId, reccobeatsId] pairs, different on every call. */
export function freshPairs(count: number): [string, string][] {
  const { spotify, reccobeats } = sampleIds(count, (seed += 7_919));
  return spotify.map((id, index) => [id, reccobeats[index]!]);
}

export function freshSpotifyIds(count: number): string[] {
  return sampleIds(count, (seed += 7_919)).spotify;
}

/** A clock that only moves when the test says so. */
export class TestClock {
  constructor(public ms = Date.parse('2026-06-01T00:00:00Z')) {}
  readonly now = () => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1_000;
  }
}

export function memoryGateway(): RedisGateway {
  return new RedisGateway({ client: null, owned: true, commandTimeoutMs: 50, logger: silentLogger });
}

export type RegistryOverrides = Partial<Omit<IdRegistryOptions, 'gateway' | 'keyPrefix'>>;

export function memoryRegistry(options: RegistryOverrides = {}): IdRegistry {
  return new IdRegistry({ gateway: memoryGateway(), keyPrefix: 'mem:', sweepIntervalMs: 0, logger: silentLogger, ...options });
}

export interface OpenRegistry {
  registry: IdRegistry;
  cache: RepriseCache;
  gateway: RedisGateway;
  close(): Promise<void>;
}

/**
 * A registry on its own Redis connection. The command deadline is generous: these tests are about behaviour, and
 * a busy 2-core machine must not push a call into memory-only mode.
 */
export async function openRegistry(redisUrl: string, keyPrefix: string, options: RegistryOverrides = {}, commandTimeoutMs = 5_000): Promise<OpenRegistry> {
  // Likewise the connect deadline: a Cluster on a loaded machine can take seconds to report its slots.
  const { cache, gateway, connectTimeoutMs } = createCacheParts({
    redisUrl, keyPrefix, logger: silentLogger, redisCommandTimeoutMs: commandTimeoutMs, redisConnectTimeoutMs: 15_000,
  });
  if (!(await gateway.waitUntilReady(connectTimeoutMs))) throw new Error(`Redis at ${redisUrl} is not ready`);
  const registry = new IdRegistry({ gateway, keyPrefix, sweepIntervalMs: 0, logger: silentLogger, ...options });
  return {
    registry,
    cache,
    gateway,
    async close() {
      await registry.close();
      await cache.close();
    },
  };
}
