/**
 * The demo host: an Express back end that turns mood prompts into playlists through reprise, the way the original
 * back end did. Without RECCOBEATS_BASE_URL it starts the ReccoBeats simulator (a synthetic catalog, said so loudly);
 * without REDIS_URL reprise runs in memory. Upstream waits are the original's divided by 100 (a ~120 s cold workflow
 * becomes ~1.2 s), and `latencyScale` scales them further.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { createReprise, type Reprise } from '../../src/reprise.js';
import { startReccobeatsSimulator, type ReccobeatsSimulator } from '../../src/reccobeats/simulator/server.js';
import { silentLogger, consoleLogger, type Logger } from '../../src/logger.js';
import { redactRedisUrl } from '../../src/redis/redact.js';
import { fromEnv } from '../../src/validate.js';
import { PlaylistWorkflow } from './workflow.js';

export interface DemoOptions {
  port?: number;
  host?: string;
  /** [REDIS_URL]; unset: memory only. */
  redisUrl?: string;
  /** [RECCOBEATS_BASE_URL]; unset: the built-in simulator. */
  reccobeatsBaseUrl?: string;
  /** [REPRISE_ADMIN_TOKEN]; unset: a random token, printed at start. */
  adminToken?: string;
  /** Multiplies every simulated upstream wait (default 1: the original's latencies / 100). */
  latencyScale?: number;
  /** false: the baseline with no cache at all (benchmarks). */
  useCache?: boolean;
  /** false disables the warm schedule (benchmarks, tests). */
  warmSchedule?: string | false;
  keyPrefix?: string;
  quiet?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Under node:cluster: this worker's id, sent in an X-Reprise-Worker header on every answer. */
  worker?: number;
  /** What answers GET /metrics (default: reprise's own registry, this process's metrics). */
  metricsHandler?: RequestHandler;
}

export interface Demo {
  url: string;
  adminToken: string;
  reprise: Reprise;
  /** The simulator, when the demo started one. */
  simulator: ReccobeatsSimulator | null;
  /** Calls made so far to the workflow's LLM and Spotify stand-ins (benchmarks count upstream work with it). */
  upstreamCalls(): { moodAnalysis: number; topTracks: number };
  close(): Promise<void>;
}

/** The original's upstream latencies divided by 100. */
export const SCALED_LATENCIES = { moodAnalysisMs: 150, topTracksMs: 50, reccobeatsMs: 100 };

export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const env = options.env ?? process.env;
  const scale = options.latencyScale ?? 1;
  const logger: Logger = options.quiet ? silentLogger : consoleLogger;
  const adminToken = options.adminToken ?? fromEnv(env, 'REPRISE_ADMIN_TOKEN') ?? randomBytes(18).toString('base64url');
  const reccobeatsBaseUrl = options.reccobeatsBaseUrl ?? fromEnv(env, 'RECCOBEATS_BASE_URL');
  const simulator = reccobeatsBaseUrl ? null : await startReccobeatsSimulator({ latency: SCALED_LATENCIES.reccobeatsMs * scale, logger: silentLogger });

  let workflow: PlaylistWorkflow | undefined;
  const reprise = await createReprise({
    // REDIS_URL is read by reprise itself from `env`.
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    ...(options.keyPrefix ? { keyPrefix: options.keyPrefix } : {}),
    adminToken,
    reccobeats: { baseUrl: reccobeatsBaseUrl ?? simulator!.url },
    computeRecommendations: (moodPrompt, ctx) => workflow!.computeRecommendations(moodPrompt, ctx),
    ...(options.warmSchedule !== undefined ? { warmSchedule: options.warmSchedule } : {}),
    logger,
    env,
  });
  workflow = new PlaylistWorkflow(
    reprise,
    { moodAnalysisMs: SCALED_LATENCIES.moodAnalysisMs * scale, topTracksMs: SCALED_LATENCIES.topTracksMs * scale },
    options.useCache ?? true,
  );

  const app = express();
  if (options.worker !== undefined) {
    const worker = String(options.worker);
    app.use((_req, res, next) => {
      res.setHeader('X-Reprise-Worker', worker);
      next();
    });
  }
  // Parsed for the playlist route only: the admin router checks and parses its own bodies.
  const playlistBody = express.json({ limit: '8kb' });
  app.get('/', (_req, res) => {
    res.json({
      service: 'reprise demo back end',
      reccobeats: simulator ? `SIMULATOR at ${simulator.url} (set RECCOBEATS_BASE_URL for the real API)` : reccobeatsBaseUrl,
      cache: reprise.cache.stats().cacheType,
      routes: ['POST /api/playlists { userId, moodPrompt }', 'GET /metrics', 'GET|POST /api/agents/system/... (admin, Bearer token)', 'GET /api/agents/system/ (operator page)'],
    });
  });
  app.post('/api/playlists', playlistBody, (req: Request, res: Response, next: NextFunction) => {
    const { userId, moodPrompt } = (req.body ?? {}) as { userId?: unknown; moodPrompt?: unknown };
    if (typeof userId !== 'string' || userId.trim() === '' || typeof moodPrompt !== 'string' || moodPrompt.trim() === '') {
      res.status(400).json({ error: 'send JSON { "userId": "...", "moodPrompt": "..." }' });
      return;
    }
    const upstreamBefore = simulator?.requests.total ?? 0;
    const started = performance.now();
    reprise
      .profile('demo.playlist', () => workflow!.playlistFor(userId, moodPrompt))
      .then((playlist) => {
        res.json({
          ...playlist,
          elapsedMs: Math.round((performance.now() - started) * 10) / 10,
          // Only exact when requests do not overlap: the simulator counts every caller's requests.
          ...(simulator ? { reccobeatsRequests: simulator.requests.total - upstreamBefore } : {}),
          cacheType: reprise.cache.stats().cacheType,
        });
      }, next);
  });
  app.get('/metrics', options.metricsHandler ?? reprise.metricsHandler);
  app.use('/api/agents/system', reprise.router);
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const message = error instanceof Error ? error.message : String(error);
    // A body the JSON parser refused (malformed, too large) is the client's mistake, like a bad prompt.
    const parserStatus = (error as { status?: unknown }).status;
    const status = typeof parserStatus === 'number' && parserStatus >= 400 && parserStatus < 500 ? parserStatus : error instanceof TypeError ? 400 : 502;
    if (status === 502) logger.error(`playlist failed: ${redactRedisUrl(message)}`);
    res.status(status).json({ error: status < 500 ? message : 'the playlist could not be made; see the server log' });
  });

  const server = http.createServer(app);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
  } catch (error) {
    await reprise.close();
    await simulator?.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    adminToken,
    reprise,
    simulator,
    upstreamCalls: () => ({ ...workflow!.upstreamCalls }),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await reprise.close();
      await simulator?.close();
    },
  };
}
