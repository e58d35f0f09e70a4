/**
 * ReccobeatsClient: typed calls to the ReccoBeats web API through one request pipeline:
 *   identical in-flight requests shared -> retries (backoff with full jitter; 429 Retry-After, bounded)
 *   -> concurrency limit per attempt -> one HTTP attempt with a deadline, a span and metrics.
 * Every failure reaches the caller as a ReccobeatsError; none is thrown from inside a timer or left unhandled.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { consoleLogger, type Logger } from '../logger.js';
import { Telemetry } from '../telemetry/telemetry.js';
import { ConcurrencyLimiter } from './concurrency-limiter.js';
import { convertSpotifyTracksToReccobeat, type IdLookup } from './convert.js';
import { ReccobeatsError } from './errors.js';
import { sendAttempt, type AttemptResult } from './http-attempt.js';
import { InFlightRequests } from './in-flight.js';
import { RECCOBEATS_OPTION_KEYS, resolveReccobeatsOptions, type ReccobeatsOptions } from './options.js';
import { assertIdList, assertIds, MAX_RECOMMENDATIONS, MAX_SEEDS, pageParams, wholeIn } from './request-params.js';
import { readAudioFeatures, readContent, readPage, ShapeError } from './response-shapes.js';
import { RetryPolicy, type RetryDecision } from './retry-policy.js';
import { RepriseInputError } from '../errors.js';
import { knownKeys, optionNames, optionOfType, RepriseOptionsError } from '../validate.js';
import {
  FEATURE_TARGET_NAMES,
  type ArtistSearchQuery,
  type PageQuery,
  type ReccobeatsArtist,
  type ReccobeatsAudioFeatures,
  type ReccobeatsEndpoint,
  type ReccobeatsPage,
  type ReccobeatsTrack,
  type RecommendationQuery,
} from './types.js';

export interface RetryEvent {
  endpoint: ReccobeatsEndpoint;
  /** 1 for the first retry. */
  retry: number;
  delayMs: number;
  /** What the failed attempt got: 'timeout', 'network' or the HTTP status. */
  cause: string;
}

export interface ReccobeatsClientOptions extends ReccobeatsOptions {
  /** The ID registry `convertSpotifyTracksToReccobeat` consults and fills. */
  idRegistry?: IdLookup;
  telemetry?: Telemetry;
  logger?: Logger;
  /** Told of every retry before its wait (logging, tests). */
  onRetry?: (event: RetryEvent) => void;
  /** Randomness of the backoff jitter, in [0, 1) (default Math.random). */
  random?: () => number;
  /** Where RECCOBEATS_BASE_URL is read from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Every option of the client: `reccobeats`'s and the wiring's. */
const CLIENT_OPTIONS = optionNames<ReccobeatsClientOptions>({
  ...RECCOBEATS_OPTION_KEYS, idRegistry: true, telemetry: true, logger: true, onRetry: true, random: true, env: true,
});

export interface ReccobeatsClientStats {
  /** Distinct requests under way (shared ones count once). */
  inFlight: number;
  /** HTTP attempts running now, at most `maxConcurrency`. */
  active: number;
  /** Attempts waiting for a concurrency slot. */
  queued: number;
  /** Attempts held back because ReccoBeats answered 429 and its Retry-After has not passed yet. */
  waitingForRateLimit: number;
}

export class ReccobeatsClient {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly batchSize: number;
  readonly maxConcurrency: number;
  readonly telemetry: Telemetry;
  private readonly base: URL;
  private readonly retryPolicy: RetryPolicy;
  private readonly limiter: ConcurrencyLimiter;
  private readonly inFlight = new InFlightRequests();
  private readonly logger: Logger;
  private readonly idRegistry: IdLookup | undefined;
  private readonly onRetry: ((event: RetryEvent) => void) | undefined;
  private simulatorNoticed = false;
  /** Aborted by close(): cuts retry waits short so shutdown never waits on a backoff or a Retry-After. */
  private readonly closing = new AbortController();
  /** After a 429, no attempt of this client goes out before this time (ms since epoch). */
  private rateLimitedUntil = 0;
  private waitingForRateLimit = 0;

  constructor(options: ReccobeatsClientOptions = {}) {
    knownKeys(options, CLIENT_OPTIONS, '');
    optionOfType(options.onRetry, 'function', 'onRetry');
    optionOfType(options.random, 'function', 'random');
    const resolved = resolveReccobeatsOptions(options, options.env);
    this.base = resolved.baseUrl;
    this.baseUrl = resolved.baseUrl.href.replace(/\/$/, '');
    this.timeoutMs = resolved.timeoutMs;
    this.batchSize = resolved.batchSize;
    this.maxConcurrency = resolved.maxConcurrency;
    this.limiter = new ConcurrencyLimiter(resolved.maxConcurrency);
    this.retryPolicy = new RetryPolicy({
      ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
      ...(options.retryBaseDelayMs !== undefined ? { baseDelayMs: options.retryBaseDelayMs } : {}),
      ...(options.retryMaxDelayMs !== undefined ? { maxDelayMs: options.retryMaxDelayMs } : {}),
      ...(options.maxRetryAfterMs !== undefined ? { maxRetryAfterMs: options.maxRetryAfterMs } : {}),
      ...(options.random ? { random: options.random } : {}),
    });
    this.telemetry = options.telemetry ?? new Telemetry();
    this.logger = options.logger ?? consoleLogger;
    this.idRegistry = options.idRegistry;
    this.onRetry = options.onRetry;
  }

  /** `GET /v1/track?ids=`: the tracks ReccoBeats knows among 1 to 40 Spotify or ReccoBeats IDs; unknown IDs are absent. */
  async getTracks(ids: readonly string[]): Promise<ReccobeatsTrack[]> {
    assertIdList(ids, 'track');
    const { content } = await this.get('track', '/v1/track', { ids: ids.join(',') }, readContent<ReccobeatsTrack>);
    return content;
  }

  /** `GET /v1/track/recommendation`: tracks like 1 to 5 seeds, optionally steered by audio feature targets. */
  async getRecommendations(query: RecommendationQuery): Promise<ReccobeatsTrack[]> {
    const { seeds, negativeSeeds = [] } = query;
    if (!Array.isArray(seeds) || seeds.length < 1 || seeds.length > MAX_SEEDS) {
      throw new RepriseInputError(`recommendations need 1 to ${MAX_SEEDS} seeds, got ${Array.isArray(seeds) ? seeds.length : typeof seeds}`);
    }
    assertIds(seeds, 'track_recommendation');
    assertIds(negativeSeeds, 'track_recommendation');
    const params: Record<string, string> = { seeds: seeds.join(',') };
    if (query.size !== undefined) params.size = String(wholeIn(query.size, 1, MAX_RECOMMENDATIONS, 'size'));
    if (negativeSeeds.length > 0) params.negativeSeeds = negativeSeeds.join(',');
    for (const name of [...FEATURE_TARGET_NAMES, 'featureWeight'] as const) {
      const value = query[name];
      if (value === undefined) continue;
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new RepriseInputError(`${name} must be a finite number`);
      params[name] = String(value);
    }
    const { content } = await this.get('track_recommendation', '/v1/track/recommendation', params, readContent<ReccobeatsTrack>);
    return content;
  }

  /** `GET /v1/track/{id}/audio-features`; null when ReccoBeats does not know the track (404). */
  async getAudioFeatures(trackId: string): Promise<ReccobeatsAudioFeatures | null> {
    assertIds([trackId], 'track_audio_features');
    return this.nullWhenNotFound(
      this.get('track_audio_features', `/v1/track/${encodeURIComponent(trackId)}/audio-features`, {}, readAudioFeatures),
    );
  }

  /** `GET /v1/artist?ids=`: the artists ReccoBeats knows among 1 to 40 IDs. */
  async getArtists(ids: readonly string[]): Promise<ReccobeatsArtist[]> {
    assertIdList(ids, 'artist');
    const { content } = await this.get('artist', '/v1/artist', { ids: ids.join(',') }, readContent<ReccobeatsArtist>);
    return content;
  }

  /** `GET /v1/artist/search`: artists whose name matches `searchText`, a page at a time. */
  async searchArtists(query: ArtistSearchQuery): Promise<ReccobeatsPage<ReccobeatsArtist>> {
    if (typeof query.searchText !== 'string' || query.searchText.trim() === '') throw new RepriseInputError('searchText must be a non-empty string');
    if (query.searchText.length > 200) throw new RepriseInputError('searchText is limited to 200 characters');
    const params = { searchText: query.searchText, ...pageParams(query) };
    return this.get('artist_search', '/v1/artist/search', params, readPage<ReccobeatsArtist>);
  }

  /** `GET /v1/artist/{id}/track`: an artist's tracks a page at a time; null when the artist is unknown (404). */
  async getArtistTracks(artistId: string, page: PageQuery = {}): Promise<ReccobeatsPage<ReccobeatsTrack> | null> {
    assertIds([artistId], 'artist_track');
    return this.nullWhenNotFound(
      this.get('artist_track', `/v1/artist/${encodeURIComponent(artistId)}/track`, pageParams(page), readPage<ReccobeatsTrack>),
    );
  }

  /**
   * Spotify track ID -> ReccoBeats ID for the given IDs, consulting and filling the ID registry given as
   * `idRegistry` (see convertSpotifyTracksToReccobeat in convert.ts).
   */
  async convertSpotifyTracksToReccobeat(spotifyIds: readonly string[]): Promise<Map<string, string>> {
    if (!this.idRegistry) throw new RepriseOptionsError('missing_option', 'idRegistry', 'convertSpotifyTracksToReccobeat needs the client to be created with an idRegistry');
    return convertSpotifyTracksToReccobeat(spotifyIds, { client: this, registry: this.idRegistry, logger: this.logger });
  }

  /**
   * Stops retrying: calls waiting to retry reject at once with a `closed` ReccobeatsError, later calls too.
   * Requests already on the wire end within `timeoutMs`.
   */
  close(): void {
    this.closing.abort();
  }

  stats(): ReccobeatsClientStats {
    return { inFlight: this.inFlight.size, active: this.limiter.active, queued: this.limiter.queued, waitingForRateLimit: this.waitingForRateLimit };
  }

  /** One logical GET: shared with an identical one already in flight, else run with retries. */
  private get<T>(endpoint: ReccobeatsEndpoint, path: string, params: Record<string, string>, read: (body: unknown) => T): Promise<T> {
    const url = new URL(this.base.href);
    url.pathname = `${this.base.pathname.replace(/\/+$/, '')}${path}`;
    url.search = new URLSearchParams(params).toString();
    return this.inFlight.share(
      `GET ${url.href}`,
      () => this.telemetry.profiler.time(`reccobeats.${endpoint}`, () => this.withRetries(endpoint, url, read)),
      () => this.telemetry.metrics.upstreamCallsAvoided.inc({ reason: 'shared_in_flight' }),
    );
  }

  private async withRetries<T>(endpoint: ReccobeatsEndpoint, url: URL, read: (body: unknown) => T): Promise<T> {
    for (let retries = 0; ; retries++) {
      if (this.closing.signal.aborted) throw closed(endpoint, retries);
      const result = await this.limiter.run(async () => {
        await this.waitOutRateLimit(endpoint, retries);
        return sendAttempt({ endpoint, url, timeoutMs: this.timeoutMs, resendCount: retries }, this.telemetry);
      });
      if (result.kind === 'success') {
        this.noticeSimulator(result.fromSimulator);
        try {
          return read(result.body);
        } catch (error) {
          if (!(error instanceof ShapeError)) throw error;
          throw new ReccobeatsError({ kind: 'invalid_response', endpoint, status: result.status, attempts: retries + 1, message: error.message });
        }
      }
      const decision = this.retryPolicy.decide(result, retries);
      // A 429 speaks for the whole API: every call of this client holds back, not just the one that got it.
      if (result.kind === 'http' && result.status === 429 && decision.retry) {
        this.rateLimitedUntil = Math.max(this.rateLimitedUntil, Date.now() + decision.delayMs);
      }
      if (!decision.retry) throw failure(endpoint, result, decision, retries + 1);
      const cause = result.kind === 'http' ? String(result.status) : result.kind;
      this.logger.debug(`ReccoBeats ${endpoint}: ${cause}, retry ${retries + 1} in ${decision.delayMs} ms`);
      this.onRetry?.({ endpoint, retry: retries + 1, delayMs: decision.delayMs, cause });
      await delay(decision.delayMs, undefined, { signal: this.closing.signal }).catch(() => {
        throw closed(endpoint, retries + 1);
      });
    }
  }

  private async waitOutRateLimit(endpoint: ReccobeatsEndpoint, retries: number): Promise<void> {
    const waitMs = this.rateLimitedUntil - Date.now();
    if (waitMs <= 0) return;
    this.waitingForRateLimit += 1;
    try {
      await delay(waitMs, undefined, { signal: this.closing.signal });
    } catch {
      throw closed(endpoint, retries);
    } finally {
      this.waitingForRateLimit -= 1;
    }
  }

  private async nullWhenNotFound<T>(call: Promise<T>): Promise<T | null> {
    try {
      return await call;
    } catch (error) {
      if (error instanceof ReccobeatsError && error.status === 404) return null;
      throw error;
    }
  }

  /** Says once, loudly, that the data comes from the simulator and not from ReccoBeats. */
  private noticeSimulator(fromSimulator: boolean): void {
    if (!fromSimulator || this.simulatorNoticed) return;
    this.simulatorNoticed = true;
    this.logger.warn(`ReccoBeats at ${this.base.origin} is a SIMULATOR, not the real API: its catalog is synthetic`);
  }
}

function closed(endpoint: ReccobeatsEndpoint, attempts: number): ReccobeatsError {
  return new ReccobeatsError({ kind: 'closed', endpoint, attempts, message: 'the client was closed' });
}

function failure(endpoint: ReccobeatsEndpoint, result: Exclude<AttemptResult, { kind: 'success' }>, decision: Exclude<RetryDecision, { retry: true }>, attempts: number): ReccobeatsError {
  const tries = attempts === 1 ? '' : ` (after ${attempts} attempts)`;
  switch (result.kind) {
    case 'timeout':
      return new ReccobeatsError({ kind: 'timeout', endpoint, attempts, message: `no answer in time${tries}` });
    case 'network':
      return new ReccobeatsError({ kind: 'network', endpoint, attempts, message: `network error ${result.cause}${tries}` });
    case 'invalid_response':
      return new ReccobeatsError({ kind: 'invalid_response', endpoint, status: result.status, attempts, message: 'answer is not JSON' });
    case 'http': {
      const retryAfter = result.retryAfterMs !== undefined ? { retryAfterMs: result.retryAfterMs } : {};
      if (result.status !== 429) {
        return new ReccobeatsError({ kind: 'http', endpoint, status: result.status, attempts, message: `HTTP ${result.status}${tries}` });
      }
      const message = decision.reason === 'retry_after_too_long'
        ? `rate limited; asked to wait ${result.retryAfterMs} ms, more than maxRetryAfterMs`
        : `rate limited${tries}`;
      return new ReccobeatsError({ kind: 'rate_limited', endpoint, status: 429, attempts, message, ...retryAfter });
    }
  }
}
