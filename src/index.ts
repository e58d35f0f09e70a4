/** reprise: a fast, resilient two-tier cache plugin for Express back ends that make playlists from mood prompts. */

// The plugin
export { createReprise, type Reprise } from './reprise.js';
export { RepriseOptionsError, type RepriseOptions } from './options.js';

// The cache engine
export { createCache, createCacheParts, type CacheOptions } from './cache/create-cache.js';
export { RepriseCache, type WorkflowArtifactsQuery, type SimilarArtifacts } from './cache/reprise-cache.js';
export { TwoTierCache, type SetOptions, type GetOrSetOptions, type CategoryStats } from './cache/two-tier-cache.js';
export { CACHE_CATEGORIES, DEFAULT_TTLS, UnknownCategoryError, isCacheCategory, type CacheCategory } from './cache/categories.js';
export { normalizeMoodPrompt, InvalidKeyError, MAX_KEY_PART_LENGTH, MAX_MOOD_PROMPT_LENGTH, type CacheKey } from './cache/keys.js';
export { DEFAULT_SIMILARITY_THRESHOLD, moodSimilarity } from './cache/similarity.js';
export { EncodeError, UnsupportedValueError, MAX_VALUE_DEPTH } from './cache/serializer.js';

// The ID registry and ReccoBeats
export { IdRegistry, BULK_CHUNK_IDS, type IdRegistryOptions, type IdRegistryStats, type IdRegistryTtls, type RegistrySweepReport } from './registry/id-registry.js';
export { InvalidIdError, isReccobeatsId } from './registry/ids.js';
export { MISSING_REASONS, type MissingReason } from './registry/entries.js';
export { ReccobeatsClient, type ReccobeatsClientOptions, type RetryEvent } from './reccobeats/client.js';
export { convertSpotifyTracksToReccobeat, convertSpotifyTracks, type ConversionReport } from './reccobeats/convert.js';
export { ReccobeatsError, type ReccobeatsErrorKind } from './reccobeats/errors.js';
export { DEFAULT_RECCOBEATS_BASE_URL, type ReccobeatsOptions } from './reccobeats/options.js';
export { isSpotifyId, spotifyTrackIdFromHref } from './reccobeats/spotify-ids.js';
export type * from './reccobeats/types.js';
export {
  startReccobeatsSimulator,
  spotifyTrackIds,
  type ReccobeatsSimulator,
  type ReccobeatsSimulatorOptions,
} from './reccobeats/simulator/index.js';

// Popular moods
export {
  PopularMoods,
  WarmAlreadyRunningError,
  ComputeNotConfiguredError,
  PopularMoodsClosedError,
  type MoodCoverage,
  type ReadThroughResult,
  type WarmStartOutcome,
} from './moods/popular-moods.js';
export { WarmScheduleError } from './moods/schedule.js';
export { InvalidRecommendationsError } from './moods/precomputed-store.js';
export type { ScheduledWarmResult, WarmScheduleInfo } from './moods/popular-moods.js';
export type { MoodCount } from './moods/usage.js';
export { DEFAULT_POPULAR_MOODS, DEFAULT_WARM_SCHEDULE, DEFAULT_WARM_CONCURRENCY, DEFAULT_WARM_MOOD_TIMEOUT_MS } from './moods/defaults.js';
export type * from './moods/types.js';

// Redis, telemetry, logging
export { parseRedisUrl, RedisUrlError, type RedisClient } from './redis/connection.js';
export { redactRedisUrl } from './redis/redact.js';
export { Telemetry, TRACER_NAME, type TelemetryOptions } from './telemetry/telemetry.js';
export { RepriseMetrics } from './telemetry/metrics.js';
export { Profiler, type OperationProfile } from './telemetry/profiler.js';
export { consoleLogger, silentLogger, type Logger } from './logger.js';

// Express glue, each usable on its own
export { adminAuth, type AdminAuthOptions } from '../middleware/admin-auth.js';
export { jsonErrorHandler, HttpError } from '../middleware/json-errors.js';
export { metricsHandler } from '../middleware/metrics-handler.js';
export { createAdminRouter, type AdminTargets, type AdminRouterOptions } from '../middleware/admin-router.js';
