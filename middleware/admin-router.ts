/**
 * The admin routes of SPEC, relative to where the host mounts the router:
 *   GET  /cache/stats                 GET  /id-registry/stats        GET /profiling/metrics
 *   POST /cache/warm-popular-moods    GET  /cache/warm-popular-moods
 *   POST /cache/invalidate[?category=C]
 * Literal paths only, so the same router works on Express 4 and 5; async handlers forward errors with .catch(next).
 * The shape of what the POST routes accept is checked in admin-input.ts before anything changes, and the values by
 * the engine (a RepriseInputError, answered 400 by json-errors.ts). Another method on a known path is
 * 405 with `Allow`; any other path under the router is 404; every error is JSON (json-errors.ts).
 * GET `/` is the operator page (operator-page.ts): static files holding no data, served before authentication.
 */
import expressDefault from 'express';
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import { assertCategory, type CacheCategory } from '../src/cache/categories.js';
import type { Logger } from '../src/logger.js';
import { PROFILE_WINDOW_SAMPLES, type Profiler } from '../src/telemetry/profiler.js';
import { knownKeys, optionNames } from '../src/validate.js';
import { adminAuth, type AdminAuthOptions } from './admin-auth.js';
import { parseInvalidateRequest, parseWarmRequest, receiveBody } from './admin-input.js';
import { HttpError, jsonErrorHandler } from './json-errors.js';
import { operatorPage } from './operator-page.js';

/** What the routes read and drive; reprise passes its engine objects. */
export interface AdminTargets {
  cache: {
    stats(): { cacheType: string; hits: number; misses: number; hitRate: number; categories: unknown; tiers?: unknown };
    invalidate(category?: CacheCategory): Promise<number>;
  };
  idRegistry: { stats(): Promise<object> };
  popularMoods: {
    coverage(): Promise<{ total: number; cached: number; coverage: number }>;
    /**
     * Starts a warm job in the background; `started: false` carries the job already running (here or elsewhere).
     * It checks the values it is given (they come from a request body) and throws a RepriseInputError, answered 400,
     * before anything starts.
     */
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
  /** Largest request body read (default 16 kB); larger ones get 413. */
  bodyLimit?: string | number;
  logger?: Pick<Logger, 'error'>;
  /** The express module to build the router with (default: the one installed beside reprise). */
  express?: typeof expressDefault;
}

const ROUTER_OPTIONS = optionNames<AdminRouterOptions>({ auth: true, bodyLimit: true, logger: true, express: true });

export function createAdminRouter(targets: AdminTargets, options: AdminRouterOptions = {}): Router {
  knownKeys(options, ROUTER_OPTIONS, '');
  const express = options.express ?? expressDefault;
  const router = express.Router();
  // Any content type is read, so a route can refuse a body it does not take instead of never seeing it.
  const body = receiveBody(express.raw({ limit: options.bodyLimit ?? '16kb', type: () => true }));

  // The page and its files first: they hold no data, and the page asks for the token itself.
  router.use(operatorPage(express));
  router.use(adminAuth(options.auth));

  const routes: Array<{ path: string; methods: string[] }> = [];
  /** A path with its handlers; any other method on it is 405 with `Allow` (OPTIONS: 204 with `Allow`). */
  const route = (path: string, handlers: Partial<Record<'get' | 'post', RequestHandler[]>>) => {
    const entry = router.route(path);
    const methods: string[] = [];
    if (handlers.get) {
      entry.get(...handlers.get);
      methods.push('GET', 'HEAD'); // Express answers HEAD with the GET handler.
    }
    if (handlers.post) {
      entry.post(...handlers.post);
      methods.push('POST');
    }
    const allow = methods.join(', ');
    entry.all((req: Request, res: Response) => {
      res.setHeader('Allow', allow);
      if (req.method === 'OPTIONS') {
        res.status(204).end();
        return;
      }
      res.status(405).json({ error: `${req.method} is not allowed on ${path}; use ${allow}`, allowed: methods });
    });
    routes.push({ path, methods });
  };

  route('/cache/stats', {
    get: [handle(async (_req, res) => {
      const { cacheType, hits, misses, hitRate, categories, tiers } = targets.cache.stats();
      const [idRegistry, popularMoods] = await Promise.all([targets.idRegistry.stats(), targets.popularMoods.coverage()]);
      res.json({ cacheType, hits, misses, hitRate, categories, tiers, idRegistry, popularMoods, features: targets.features() });
    })],
  });

  route('/cache/warm-popular-moods', {
    get: [handle(async (_req, res) => {
      res.json((await targets.popularMoods.progress()) ?? { jobId: null, status: 'idle', total: 0, done: 0, failed: 0, startedAt: null, finishedAt: null, failures: [] });
    })],
    post: [body, handle(async (req, res) => {
      const request = parseWarmRequest(req);
      if (!targets.popularMoods.canWarm) {
        throw new HttpError(501, 'warming needs a computeRecommendations function in the reprise options');
      }
      // The values are as the client sent them: startWarm checks them (RepriseInputError, 400 naming field and index).
      const outcome = await targets.popularMoods.startWarm(request as { moods?: string[]; force?: boolean });
      if (!outcome.started) {
        throw new HttpError(409, 'a warm job is already running', { runningJobId: outcome.runningJobId });
      }
      res.status(202).json(outcome.job);
    })],
  });

  route('/cache/invalidate', {
    post: [body, handle(async (req, res) => {
      const category = parseInvalidateRequest(req);
      if (category !== undefined) assertCategory(category);
      const invalidated = await targets.cache.invalidate(category);
      res.json({ category: category ?? 'all', invalidated });
    })],
  });

  route('/id-registry/stats', {
    get: [handle(async (_req, res) => {
      res.json(await targets.idRegistry.stats());
    })],
  });

  route('/profiling/metrics', {
    get: [handle(async (_req, res) => {
      res.json({ unit: 'seconds', windowSamples: PROFILE_WINDOW_SAMPLES, operations: targets.profiler.snapshot() });
    })],
  });

  // Whatever else reaches the router is not one of its paths.
  const known = routes.flatMap(({ path, methods }) => methods.filter((method) => method !== 'HEAD').map((method) => `${method} ${path}`));
  router.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'no admin route at this path', routes: known });
  });

  router.use(jsonErrorHandler(options.logger));
  return router;
}

/** Wraps an async handler so a rejection reaches the error handler on Express 4 as on 5. */
function handle(fn: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  };
}
