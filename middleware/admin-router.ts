/**
 * The admin routes of SPEC, relative to where the host mounts the router:
 *   GET  /cache/stats                 GET  /id-registry/stats        GET /profiling/metrics
 *   POST /cache/warm-popular-moods    GET  /cache/warm-popular-moods
 *   POST /cache/invalidate[?category=C]
 * Literal paths only, so the same router works on Express 4 and 5; async handlers forward errors with .catch(next).
 */
import expressDefault from 'express';
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import { CACHE_CATEGORIES, assertCategory, type CacheCategory } from '../src/cache/categories.js';
import { normalizeMoodPrompt } from '../src/cache/keys.js';
import type { Logger } from '../src/logger.js';
import { PROFILE_WINDOW_SAMPLES, type Profiler } from '../src/telemetry/profiler.js';
import { adminAuth, type AdminAuthOptions } from './admin-auth.js';
import { HttpError, jsonErrorHandler } from './json-errors.js';

/** What the routes read and drive; reprise passes its engine objects. */
export interface AdminTargets {
  cache: {
    stats(): { cacheType: string; hits: number; misses: number; hitRate: number; categories: unknown };
    invalidate(category?: CacheCategory): Promise<number>;
  };
  idRegistry: { stats(): Promise<object> };
  popularMoods: {
    coverage(): Promise<{ total: number; cached: number; coverage: number }>;
    /** Starts a warm job in the background; `started: false` carries the job already running (here or elsewhere). */
    startWarm(options: { moods?: string[]; force?: boolean }): Promise<
      { started: true; job: { jobId: string; status: string; moods: string[] } } | { started: false; runningJobId: string | null }
    >;
    progress(): Promise<object | null>;
    readonly canWarm: boolean;
  };
  profiler: Profiler;
  /** What this deployment has switched on (Redis, cluster, schedule, ...). */
  features(): Record<string, unknown>;
}

export interface AdminRouterOptions {
  auth?: AdminAuthOptions;
  /** Largest JSON body accepted (default 16 kB); larger ones get 413. */
  bodyLimit?: string | number;
  logger?: Pick<Logger, 'error'>;
  /** The express module to build the router with (default: the one installed beside reprise). */
  express?: typeof expressDefault;
}

export function createAdminRouter(targets: AdminTargets, options: AdminRouterOptions = {}): Router {
  const express = options.express ?? expressDefault;
  const router = express.Router();
  const jsonBody = express.json({ limit: options.bodyLimit ?? '16kb', strict: true });

  router.use(adminAuth(options.auth));

  router.get('/cache/stats', handle(async (_req, res) => {
    const { cacheType, hits, misses, hitRate, categories } = targets.cache.stats();
    const [idRegistry, popularMoods] = await Promise.all([targets.idRegistry.stats(), targets.popularMoods.coverage()]);
    res.json({ cacheType, hits, misses, hitRate, categories, idRegistry, popularMoods, features: targets.features() });
  }));

  router.post('/cache/warm-popular-moods', jsonBody, handle(async (req, res) => {
    if (!targets.popularMoods.canWarm) {
      throw new HttpError(501, 'warming needs a computeRecommendations function in the reprise options');
    }
    const outcome = await targets.popularMoods.startWarm(parseWarmRequest(req.body));
    if (!outcome.started) {
      throw new HttpError(409, 'a warm job is already running', { runningJobId: outcome.runningJobId });
    }
    res.status(202).json(outcome.job);
  }));

  router.get('/cache/warm-popular-moods', handle(async (_req, res) => {
    res.json((await targets.popularMoods.progress()) ?? { jobId: null, status: 'idle', total: 0, done: 0, failed: 0, startedAt: null, finishedAt: null });
  }));

  router.post('/cache/invalidate', jsonBody, handle(async (req, res) => {
    const category = singleQueryValue(req.query.category, 'category');
    if (category !== undefined) assertCategory(category);
    const invalidated = await targets.cache.invalidate(category);
    res.json({ category: category ?? 'all', invalidated });
  }));

  router.get('/id-registry/stats', handle(async (_req, res) => {
    res.json(await targets.idRegistry.stats());
  }));

  router.get('/profiling/metrics', handle(async (_req, res) => {
    res.json({ unit: 'seconds', windowSamples: PROFILE_WINDOW_SAMPLES, operations: targets.profiler.snapshot() });
  }));

  router.use(jsonErrorHandler(options.logger));
  return router;
}

/** Wraps an async handler so a rejection reaches the error handler on Express 4 as on 5. */
function handle(fn: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  };
}

function parseWarmRequest(body: unknown): { moods?: string[]; force?: boolean } {
  if (body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0)) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object { moods?, force? }');
  const { moods, force, ...rest } = body as Record<string, unknown>;
  const unknownFields = Object.keys(rest);
  if (unknownFields.length > 0) throw new HttpError(400, `unknown fields: ${unknownFields.join(', ')}`, { allowedFields: ['moods', 'force'] });
  if (moods !== undefined && (!Array.isArray(moods) || moods.length === 0 || moods.length > 100 || !moods.every((m) => typeof m === 'string' && m.trim() !== '' && m.length <= 200))) {
    throw new HttpError(400, 'moods must be a list of 1 to 100 non-empty strings of at most 200 characters');
  }
  for (const mood of (moods as string[] | undefined) ?? []) {
    try {
      normalizeMoodPrompt(mood);
    } catch (error) {
      throw new HttpError(400, (error as Error).message);
    }
  }
  if (force !== undefined && typeof force !== 'boolean') throw new HttpError(400, 'force must be true or false');
  return { ...(moods ? { moods: moods as string[] } : {}), ...(force !== undefined ? { force } : {}) };
}

function singleQueryValue(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, `give ${name} once, as plain text`, { validCategories: CACHE_CATEGORIES });
  return value;
}
