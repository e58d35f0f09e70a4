/**
 * Setup and teardown shared by the suites. Each helper registers its own vitest hooks in the describe (or file) it is
 * called in; the `use…` ones return an accessor valid inside tests and hooks. Kept apart from redis-servers.ts and
 * backends.ts, which the benchmarks import outside vitest.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startBackend, type Backend } from './backends.js';
import { startRedisCluster, startRedisServer, type RedisCluster, type RedisServer, type RedisServerOptions } from './redis-servers.js';

/** Starts a resource before the suite's tests and destroys it after them. */
function useSuiteResource<T extends { destroy(): Promise<void> }>(what: string, start: () => Promise<T>): () => T {
  let resource: T | undefined;
  beforeAll(async () => {
    resource = await start();
  });
  afterAll(async () => {
    await resource?.destroy();
  });
  return () => {
    if (!resource) throw new Error(`${what} is not started: use it inside a test or hook, after beforeAll`);
    return resource;
  };
}

/** A standalone redis-server for the suite. */
export function useRedisServer(options: RedisServerOptions = {}): () => RedisServer {
  return useSuiteResource('redis-server', () => startRedisServer(options));
}

/** A Redis Cluster of `masters` masters for the suite. */
export function useRedisCluster(masters = 3): () => RedisCluster {
  return useSuiteResource('Redis Cluster', () => startRedisCluster(masters));
}

/** A standalone or Cluster backend (see backends.ts) for the suite. */
export function useBackend(name: Backend['name']): () => Backend {
  return useSuiteResource(`${name} backend`, () => startBackend(name));
}

/** An array for what a test opens: everything in it is closed after each test, and the array emptied. */
export function closeAfterEachTest<T extends { close(): unknown }>(): T[] {
  const opened: T[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((item) => item.close()));
  });
  return opened;
}

/** Undoes what a failure test did to a server: resumes it if paused, starts it again if stopped or killed. */
export async function restoreServer(server: RedisServer): Promise<void> {
  server.resume();
  if (!server.running) await server.start();
}

/**
 * Collects every unhandled promise rejection while the enclosing suite (or file) runs; the returned array fills up as
 * they happen, so a test can assert it is still empty.
 */
export function collectUnhandledRejections(): unknown[] {
  const unhandled: unknown[] = [];
  // Kept with its stack: a failing test then shows where the rejection came from, not just its message.
  const onUnhandled = (reason: unknown) => unhandled.push(reason instanceof Error ? reason.stack ?? String(reason) : reason);
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
  });
  return unhandled;
}
