/**
 * createReprise: the whole plugin from one options object (SPEC "Entry point"). It builds the telemetry, the cache and
 * its Redis connection, the ID registry, the ReccoBeats client, the popular mood service and the admin router, and
 * `close()` takes them down in the reverse order.
 */
import type { RequestHandler, Router } from 'express';
import { createAdminRouter } from '../middleware/admin-router.js';
import { metricsHandler } from '../middleware/metrics-handler.js';
import { CACHE_OPTIONS, createCacheParts, waitForRedis, type CacheOptions } from './cache/create-cache.js';
import type { RepriseCache } from './cache/reprise-cache.js';
import { consoleLogger } from './logger.js';
import { PopularMoods } from './moods/popular-moods.js';
import { fromEnv, validateOptions, type RepriseOptions } from './options.js';
import { ReccobeatsClient } from './reccobeats/client.js';
import { IdRegistry } from './registry/id-registry.js';
import { Telemetry } from './telemetry/telemetry.js';

export interface Reprise {
  cache: RepriseCache;
  idRegistry: IdRegistry;
  popularMoods: PopularMoods;
  reccobeats: ReccobeatsClient;
  telemetry: Telemetry;
  /** The admin routes; mount it where you like, e.g. app.use('/api/agents/system', reprise.router). */
  router: Router;
  /** Prometheus text exposition of reprise's metrics: app.get('/metrics', reprise.metricsHandler). */
  metricsHandler: RequestHandler;
  /** Times a stage of the host's own workflow for GET /profiling/metrics. */
  profile<T>(name: string, fn: () => T | Promise<T>): Promise<T>;
  /** Stops the schedule, waits for a running warm, and closes what reprise opened (never an injected Redis client). */
  close(): Promise<void>;
}

export async function createReprise(input?: RepriseOptions): Promise<Reprise> {
  const options = validateOptions(input);
  const env = options.env ?? process.env;
  const logger = options.logger ?? consoleLogger;
  const telemetry = new Telemetry(defined({ registry: options.registry, tracerProvider: options.tracerProvider }));
  // The cache's options go on as given, by the one list of them: an option added there cannot be left behind here.
  const cacheOptions = defined(Object.fromEntries(CACHE_OPTIONS.map((name) => [name, options[name as keyof RepriseOptions]]))) as CacheOptions;
  const cacheParts = createCacheParts({ ...cacheOptions, telemetry, logger, env });
  const { cache, gateway } = cacheParts;
  // Whatever is built before a failure is closed again: a bad option must not leave a Redis connection behind.
  const opened: Array<{ close(): unknown }> = [cache];
  const closeAll = async () => {
    for (const part of [...opened].reverse()) await part.close();
  };

  try {
    const idRegistry = new IdRegistry({
      gateway,
      keyPrefix: cache.keyPrefix,
      ttls: { validatedSeconds: cache.ttls.id_registry, missingSeconds: cache.ttls.id_registry_missing },
      ...defined({ missing: options.idRegistry?.missing, bloom: options.idRegistry?.bloom }),
      telemetry,
      logger,
    });
    opened.push(idRegistry);
    // The registry's entries live in packed hashes and in a copy in memory: it joins the cache's invalidations.
    const leave = cache.join({
      category: 'id_registry',
      invalidated: () => idRegistry.forgetLocal(),
      countEntries: async () => {
        const { validated, missing } = await idRegistry.counts();
        return validated + missing;
      },
    });
    opened.push({ close: leave });
    const popularMoods = new PopularMoods({
      cache,
      gateway,
      keyPrefix: cache.keyPrefix,
      ...defined({
        computeRecommendations: options.computeRecommendations,
        moods: options.popularMoods,
        warmSchedule: options.warmSchedule,
        warmTimezone: options.warmTimezone,
        warmConcurrency: options.warmConcurrency,
        warmMoodTimeoutMs: options.warmMoodTimeoutMs,
        warmTopRequested: options.warmTopRequested,
      }),
      telemetry,
      logger,
      env,
    });
    opened.push(popularMoods);
    const reccobeats = new ReccobeatsClient({ ...options.reccobeats, idRegistry, telemetry, logger, env });
    opened.push(reccobeats);

    const adminToken = options.adminToken ?? fromEnv(env, 'REPRISE_ADMIN_TOKEN');
    const router = createAdminRouter(
      {
        cache,
        idRegistry,
        popularMoods,
        profiler: telemetry.profiler,
        features: () => ({
          redis: gateway.client !== null,
          redisMode: gateway.mode,
          // Where reprise connects, without credentials (host:port/db, cluster nodes or sentinels).
          redisTarget: gateway.status().target,
          idRegistry: true,
          warming: popularMoods.canWarm,
          warmSchedule: popularMoods.schedule.enabled ? popularMoods.schedule.expression : false,
          reccobeatsBaseUrl: reccobeats.baseUrl,
        }),
      },
      {
        auth: defined({ token: adminToken, authenticate: options.adminAuth }),
        ...defined({ bodyLimit: options.adminBodyLimit, express: options.express }),
        logger,
      },
    );
    popularMoods.start();
    await waitForRedis(cacheParts);

    let closing: Promise<void> | undefined;
    return {
      cache,
      idRegistry,
      popularMoods,
      reccobeats,
      telemetry,
      router,
      metricsHandler: metricsHandler(telemetry.metrics.registry),
      profile: (name, fn) => telemetry.profiler.time(name, fn),
      close: () => (closing ??= closeAll()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** The fields that are set: options left undefined take the component's default. */
function defined<T extends object>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}
