/**
 * reprise: a fast, resilient two-tier cache plugin for Express back ends that make playlists from mood prompts.
 * The main entry holds what a host uses: createReprise, createCache, the middleware it may mount on its own, the
 * errors it may catch, the key limits, and the option and result types. The ReccoBeats simulator is `reprise/simulator`.
 */

import type { RepriseCache as RepriseCacheClass } from './cache/reprise-cache.js';
import type { IdRegistry as IdRegistryClass } from './registry/id-registry.js';
import type { ReccobeatsClient as ReccobeatsClientClass } from './reccobeats/client.js';
import type { PopularMoods as PopularMoodsClass } from './moods/popular-moods.js';

// The plugin
export { createReprise, type Reprise } from './reprise.js';
export { RepriseOptionsError, type RepriseOptions } from './options.js';
export { RepriseInputError, type OptionErrorCode } from './errors.js';
export { consoleLogger, silentLogger, type Logger } from './logger.js';

// The cache
export { createCache, type CacheOptions } from './cache/create-cache.js';
export type { WorkflowArtifactsInput, WorkflowArtifactsQuery, SimilarArtifacts } from './cache/reprise-cache.js';
export type { SetOptions, GetOrSetOptions, CategoryStats } from './cache/two-tier-cache.js';
export { CACHE_CATEGORIES, UnknownCategoryError, type CacheCategory } from './cache/categories.js';
export { normalizeMoodPrompt, InvalidKeyError, MAX_KEY_PART_LENGTH, MAX_MOOD_PROMPT_LENGTH, type CacheKey, type KeyPart } from './cache/keys.js';
export { EncodeError, UnsupportedValueError, MAX_VALUE_DEPTH } from './cache/serializer.js';
export { type RedisClient } from './redis/connection.js';
export { RedisUrlError } from './redis/redis-url.js';

// The ID registry (reprise.idRegistry)
export type { IdRegistryStats, IdRegistryTtls, MissingMarkStats, RegistrySweepReport } from './registry/id-registry.js';
export type { IdRegistrySettings } from './options.js';
export type { BloomOptions, GenerationStats, MissingFilterStats, MissingMarkMode } from './registry/missing-filters.js';
export { InvalidIdError } from './registry/ids.js';
export type { MissingReason } from './registry/entries.js';

// ReccoBeats (reprise.reccobeats)
export type { ReccobeatsClientStats } from './reccobeats/client.js';
export type { ConversionReport } from './reccobeats/convert.js';
export { ReccobeatsError, type ReccobeatsErrorKind } from './reccobeats/errors.js';
export type { ReccobeatsOptions } from './reccobeats/options.js';
export type {
  ArtistSearchQuery,
  FeatureTargets,
  PageQuery,
  ReccobeatsArtist,
  ReccobeatsAudioFeatures,
  ReccobeatsContent,
  ReccobeatsEndpoint,
  ReccobeatsPage,
  ReccobeatsTrack,
  RecommendationQuery,
} from './reccobeats/types.js';

// Popular moods (reprise.popularMoods)
export { WarmAlreadyRunningError, ComputeNotConfiguredError, PopularMoodsClosedError } from './moods/errors.js';
export { WarmScheduleError } from './moods/schedule.js';
export { InvalidRecommendationsError } from './moods/precomputed-store.js';
export { DEFAULT_POPULAR_MOODS } from './moods/defaults.js';
export type {
  MoodCoverage,
  ReadThroughResult,
  ScheduledWarmResult,
  WarmScheduleInfo,
  WarmStartOutcome,
} from './moods/popular-moods.js';
export type { MoodCount } from './moods/usage.js';
export type * from './moods/types.js';

// The objects a Reprise holds, as types only: they are made by createReprise and createCache, never constructed by a
// host. (Aliases, so the published declarations cannot present the classes as values.)
export type RepriseCache = RepriseCacheClass;
export type IdRegistry = IdRegistryClass;
export type ReccobeatsClient = ReccobeatsClientClass;
export type PopularMoods = PopularMoodsClass;

// Express middleware, each usable on its own
export { adminAuth, type AdminAuthOptions } from '../middleware/admin-auth.js';
export { jsonErrorHandler, HttpError } from '../middleware/json-errors.js';
export { metricsHandler } from '../middleware/metrics-handler.js';
export { createAdminRouter, type AdminTargets, type AdminRouterOptions } from '../middleware/admin-router.js';
