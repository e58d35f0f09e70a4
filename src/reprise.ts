/**
 * createReprise: the whole plugin from one options object (SPEC "Entry point"). It builds the telemetry, the cache and
 * its Redis connection, the ID registry, the ReccoBeats client, the popular mood service and the admin router, and
 * `close()` takes them down in the reverse order.
 */
import type { RequestHandler, Router } from 'express';
import { createAdminRouter } from '../middleware/admin-router.js';
import { metricsHandler } from '../middleware/metrics-handler.js';
import { createCacheParts, waitForRedis } from './cache/create-cache.js';
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
  const telemetry = new Telemetry({
    ...(options.registry ? { registry: options.registry } : {}),
    ...(options.tracerProvider ? { tracerProvider: options.tracerProvider } : {}),
  });
  const cacheParts = createCacheParts({ ...cacheOptionsOf(options), telemetry, logger, env });
  const { cache, gateway } = cacheParts;
  const idRegistry = new IdRegistry({
    gateway,
    keyPrefix: cache.keyPrefix,
    ttls: { validatedSeconds: cache.ttls.id_registry, missingSeconds: cache.ttls.id_registry_missing },
    telemetry,
    logger,
  });
  const reccobeats = new ReccobeatsClient({ ...options.reccobeats, idRegistry, telemetry, logger, env });
  const popularMoods = new PopularMoods({
    cache,
    gateway,
    keyPrefix: cache.keyPrefix,
    ...(options.computeRecommendations ? { computeRecommendations: options.computeRecommendations } : {}),
    ...(options.popularMoods ? { moods: options.popularMoods } : {}),
    ...(options.warmSchedule !== undefined ? { warmSchedule: options.warmSchedule } : {}),
    ...(options.warmTimezone ? { warmTimezone: options.warmTimezone } : {}),
    ...(options.warmConcurrency !== undefined ? { warmConcurrency: options.warmConcurrency } : {}),
    ...(options.warmMoodTimeoutMs !== undefined ? { warmMoodTimeoutMs: options.warmMoodTimeoutMs } : {}),
    ...(options.warmTopRequested !== undefined ? { warmTopRequested: options.warmTopRequested } : {}),
    telemetry,
    logger,
    env,
  });

  const adminToken = options.adminToken ?? fromEnv(env, 'REPRISE_ADMIN_TOKEN');
  const closeAll = async () => {
    reccobeats.close();
    await popularMoods.close();
    await idRegistry.close();
    await cache.close();
  };
  try {
    const router = createAdminRouter(
      {
        cache,
        idRegistry,
        popularMoods,
        profiler: telemetry.profiler,
        features: () => ({
          redis: gateway.client !== null,
          redisMode: gateway.mode,
          idRegistry: true,
          warming: popularMoods.canWarm,
          warmSchedule: popularMoods.schedule.enabled ? popularMoods.schedule.expression : false,
          reccobeatsBaseUrl: reccobeats.baseUrl,
        }),
      },
      {
        auth: {
          ...(adminToken ? { token: adminToken } : {}),
          ...(options.adminAuth ? { authenticate: options.adminAuth } : {}),
        },
        ...(options.adminBodyLimit !== undefined ? { bodyLimit: options.adminBodyLimit } : {}),
        ...(options.express ? { express: options.express } : {}),
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

function cacheOptionsOf(options: RepriseOptions) {
  const { redisUrl, redis, keyPrefix, memory, ttls, redisCommandTimeoutMs, redisConnectTimeoutMs, circuitBreaker, similarityThreshold } = options;
  return Object.fromEntries(
    Object.entries({ redisUrl, redis, keyPrefix, memory, ttls, redisCommandTimeoutMs, redisConnectTimeoutMs, circuitBreaker, similarityThreshold })
      .filter(([, value]) => value !== undefined),
  );
}
