/**
 * bentocache 1.x, configured as its docs show for a multi-instance app: memory L1, Redis L2 and the Redis bus that
 * tells other instances to drop their L1 copy. L1 keeps live objects (`serialize: false`), as reprise's memory tier
 * does; bentocache's default would JSON-parse on every L1 hit.
 */
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis';
import { runCase } from '../lib/case-main.js';
import { KEY_COUNT, TTL_SECONDS, benchKey, benchValue } from '../lib/payload.js';
import { stormWorkload } from '../lib/storm.js';
import type { CaseContext, CaseFile, Workload } from '../lib/workload.js';

const TTL = `${TTL_SECONDS}s`;

function connection(context: CaseContext) {
  return { host: context.redisHost, port: context.redisPort };
}

/** L1 + L2 + bus, the full two-tier setup. */
function tiered(context: CaseContext) {
  const store = bentostore()
    .useL1Layer(memoryDriver({ maxItems: 2 * KEY_COUNT, serialize: false }))
    .useL2Layer(redisDriver({ connection: connection(context) }))
    .useBus(redisBusDriver({ connection: connection(context) }));
  return new BentoCache({ default: 'tiered', prefix: context.keyPrefix, ttl: TTL, stores: { tiered: store } });
}

/** Redis alone: every read is an L2 read. */
function redisOnly(context: CaseContext) {
  const store = bentostore().useL2Layer(redisDriver({ connection: connection(context) }));
  return new BentoCache({ default: 'redis', prefix: context.keyPrefix, ttl: TTL, stores: { redis: store } });
}

async function fill(bento: BentoCache<any>): Promise<void> {
  for (let i = 0; i < KEY_COUNT; i++) await bento.set({ key: benchKey(i), value: benchValue(i) });
}

function closer(bento: BentoCache<any>) {
  return () => bento.disconnectAll();
}

const variants: CaseFile = {
  'l1-get': {
    scenario: 'l1-get-hit',
    setup: 'bento.get, L1 memory (serialize: false) + L2 Redis + Redis bus',
    async start(context): Promise<Workload> {
      const bento = tiered(context);
      await fill(bento);
      return { run: (i) => bento.get({ key: benchKey(i) }), close: closer(bento) };
    },
  },
  'redis-get': {
    scenario: 'redis-get-hit',
    setup: 'bento.get on a store with only the Redis layer (L1 off)',
    async start(context): Promise<Workload> {
      const bento = redisOnly(context);
      await fill(bento);
      return { run: (i) => bento.get({ key: benchKey(i) }), close: closer(bento) };
    },
  },
  set: {
    scenario: 'tiered-set',
    setup: 'bento.set on L1 + L2 + bus (the bus publishes the change)',
    async start(context): Promise<Workload> {
      const bento = tiered(context);
      return { run: (i) => bento.set({ key: benchKey(i), value: benchValue(i) }), close: closer(bento) };
    },
  },
  'get-or-set': {
    scenario: 'get-or-set-storm',
    setup: 'bento.getOrSet on L1 + L2 + bus',
    async start(context): Promise<Workload> {
      const bento = tiered(context);
      return stormWorkload({
        call: (key, factory) => bento.getOrSet({ key, factory }),
        close: closer(bento),
      });
    },
  },
};

await runCase(variants);
