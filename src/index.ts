/** reprise: a two-tier cache (lru-cache in front of Redis, Valkey or a Redis Cluster) for mood-to-playlist back ends. */
export { createCache, createCacheParts, type CacheOptions } from './cache/create-cache.js';
export { RepriseCache, type WorkflowArtifactsQuery, type SimilarArtifacts } from './cache/reprise-cache.js';
export { TwoTierCache, type SetOptions, type CategoryStats } from './cache/two-tier-cache.js';
export {
  CACHE_CATEGORIES,
  DEFAULT_TTLS,
  UnknownCategoryError,
  isCacheCategory,
  type CacheCategory,
} from './cache/categories.js';
export { normalizeMoodPrompt, type CacheKey } from './cache/keys.js';
export { DEFAULT_SIMILARITY_THRESHOLD, moodSimilarity } from './cache/similarity.js';
export { EncodeError } from './cache/serializer.js';
export { parseRedisUrl, RedisUrlError, type RedisClient } from './redis/connection.js';
export { redactRedisUrl } from './redis/redact.js';
export { consoleLogger, silentLogger, type Logger } from './logger.js';
