/**
 * createReprise options (SPEC "Entry point"): their types, and the checks that turn a wrong option into a clear error
 * at start rather than a surprise at 3 a.m. An option wins over its environment variable.
 */
import type { RequestHandler } from 'express';
import type { TracerProvider } from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import type { CacheOptions } from './cache/create-cache.js';
import type { ReccobeatsOptions } from './reccobeats/options.js';
import type { ComputeRecommendations } from './moods/types.js';
import { fromEnv, knownKeys, RepriseOptionsError } from './validate.js';

export interface RepriseOptions extends Omit<CacheOptions, 'telemetry'> {
  /** Bearer token for admin routes. [REPRISE_ADMIN_TOKEN] */
  adminToken?: string;
  /** The host's own authentication middleware for admin routes. */
  adminAuth?: RequestHandler;
  /** The host's mood workflow, used by warming and read-through. */
  computeRecommendations?: ComputeRecommendations;
  /** Moods kept precomputed (default: the 10 of SPEC). */
  popularMoods?: string[];
  /** node-cron expression for warming, or false to disable. [REPRISE_WARM_CRON], default `0 3 * * *` */
  warmSchedule?: string | false;
  /** IANA time zone of the schedule (default: the process's). [REPRISE_WARM_TIMEZONE] */
  warmTimezone?: string;
  /** Moods computed at once during a warm run (default 2). */
  warmConcurrency?: number;
  /** How long one mood may take in a warm run (default 120 000 ms). */
  warmMoodTimeoutMs?: number;
  /** Also warm the n most requested moods (default 0: the configured ones only). */
  warmTopRequested?: number;
  reccobeats?: ReccobeatsOptions;
  /** prom-client registry for reprise's metrics (default: reprise's own). */
  registry?: Registry;
  /** OpenTelemetry tracer provider (default: the global one). */
  tracerProvider?: TracerProvider;
  /** Largest JSON body the admin routes accept (default 16 kB). */
  adminBodyLimit?: string | number;
  /** The express module the router is built with (default: the one installed beside reprise). */
  express?: typeof import('express');
}

const KNOWN_OPTIONS: readonly string[] = [
  'redisUrl', 'redis', 'keyPrefix', 'memory', 'ttls', 'redisCommandTimeoutMs', 'redisMaxWaitMs', 'redisAutoPipelining', 'redisConnectTimeoutMs', 'circuitBreaker',
  'similarityThreshold', 'logger', 'env', 'adminToken', 'adminAuth', 'computeRecommendations', 'popularMoods',
  'warmSchedule', 'warmTimezone', 'warmConcurrency', 'warmMoodTimeoutMs', 'warmTopRequested', 'reccobeats', 'registry', 'tracerProvider', 'adminBodyLimit', 'express',
] satisfies Array<keyof RepriseOptions>;

const RECCOBEATS_OPTIONS = [
  'baseUrl', 'timeoutMs', 'batchSize', 'maxConcurrency', 'maxRetries', 'retryBaseDelayMs', 'retryMaxDelayMs', 'maxRetryAfterMs',
] satisfies Array<keyof ReccobeatsOptions>;

export { fromEnv, RepriseOptionsError };

/** Rejects unknown option names (with a suggestion) and options of the wrong kind. */
export function validateOptions(options: unknown): RepriseOptions {
  if (options === undefined) return {};
  knownKeys(options, KNOWN_OPTIONS, '');
  const o = options as RepriseOptions;
  expectType(o.redisUrl, 'string', 'redisUrl');
  expectType(o.keyPrefix, 'string', 'keyPrefix');
  expectType(o.adminToken, 'string', 'adminToken');
  expectType(o.adminAuth, 'function', 'adminAuth');
  expectType(o.computeRecommendations, 'function', 'computeRecommendations');
  expectType(o.warmTimezone, 'string', 'warmTimezone');
  if (o.warmSchedule !== undefined && o.warmSchedule !== false && typeof o.warmSchedule !== 'string') {
    throw new RepriseOptionsError('warmSchedule must be a cron expression or false');
  }
  if (o.popularMoods !== undefined && (!Array.isArray(o.popularMoods) || !o.popularMoods.every((m) => typeof m === 'string'))) {
    throw new RepriseOptionsError('popularMoods must be a list of mood prompts (strings)');
  }
  if (o.registry !== undefined && typeof (o.registry as { metrics?: unknown }).metrics !== 'function') {
    throw new RepriseOptionsError('registry must be a prom-client Registry');
  }
  if (o.tracerProvider !== undefined && typeof (o.tracerProvider as { getTracer?: unknown }).getTracer !== 'function') {
    throw new RepriseOptionsError('tracerProvider must be an OpenTelemetry TracerProvider');
  }
  if (o.redis !== undefined && typeof (o.redis as { get?: unknown }).get !== 'function') {
    throw new RepriseOptionsError('redis must be an ioredis Redis or Cluster instance');
  }
  if (o.express !== undefined && typeof (o.express as { Router?: unknown }).Router !== 'function') {
    throw new RepriseOptionsError('express must be the express module (import express from "express")');
  }
  knownKeys(o.reccobeats, RECCOBEATS_OPTIONS, 'reccobeats');
  return o;
}

function expectType(value: unknown, type: 'string' | 'function', name: string): void {
  if (value !== undefined && typeof value !== type) throw new RepriseOptionsError(`${name} must be a ${type}, got ${typeof value}`);
}
