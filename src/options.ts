/**
 * createReprise options (SPEC "Entry point"): their types, and the checks that turn a wrong option into a clear error
 * at start rather than a surprise at 3 a.m. An option wins over its environment variable.
 */
import type { RequestHandler } from 'express';
import type { TracerProvider } from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import { CACHE_OPTIONS, checkConnectionOptionTypes, type CacheOptions } from './cache/create-cache.js';
import type { ComputeRecommendations } from './moods/types.js';
import { RECCOBEATS_OPTIONS, type ReccobeatsOptions } from './reccobeats/options.js';
import { bloomSettingsOf, missingMarkModeOf, type BloomOptions, type MissingMarkMode } from './registry/missing-filters.js';
import { fromEnv, knownKeys, optionNames, optionOfType, RepriseOptionsError } from './validate.js';

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
  /** How the ID registry keeps known-missing marks in Redis. */
  idRegistry?: IdRegistrySettings;
  /** prom-client registry for reprise's metrics (default: reprise's own). */
  registry?: Registry;
  /** OpenTelemetry tracer provider (default: the global one). */
  tracerProvider?: TracerProvider;
  /** Largest JSON body the admin routes accept (default 16 kB). */
  adminBodyLimit?: string | number;
  /** The express module the router is built with (default: the one installed beside reprise). */
  express?: typeof import('express');
}

export interface IdRegistrySettings {
  /** 'bloom' (default): `not_found` marks in Bloom filters, a few bytes per ID; 'exact': one entry per ID. */
  missing?: MissingMarkMode;
  /** Capacity per generation (default 100 000) and target false-positive rate (default 0.001) of the filters. */
  bloom?: BloomOptions;
}

const ID_REGISTRY_SETTINGS = optionNames<IdRegistrySettings>({ missing: true, bloom: true });

/**
 * Every option of createReprise, once: the cache's (but its telemetry, which createReprise builds), then its own, a
 * list the compiler refuses if an option of RepriseOptions beyond the cache's is missing.
 */
const KNOWN_OPTIONS: readonly string[] = [
  ...CACHE_OPTIONS.filter((name) => name !== 'telemetry'),
  ...optionNames<Omit<RepriseOptions, keyof CacheOptions>>({
    adminToken: true, adminAuth: true, computeRecommendations: true, popularMoods: true, warmSchedule: true, warmTimezone: true,
    warmConcurrency: true, warmMoodTimeoutMs: true, warmTopRequested: true, reccobeats: true, idRegistry: true, registry: true,
    tracerProvider: true, adminBodyLimit: true, express: true,
  }),
];

export { fromEnv, RepriseOptionsError };

/** Rejects unknown option names (with a suggestion) and options of the wrong kind, each a RepriseOptionsError. */
export function validateOptions(options: unknown): RepriseOptions {
  if (options === undefined) return {};
  knownKeys(options, KNOWN_OPTIONS, '');
  const o = options as RepriseOptions;
  checkConnectionOptionTypes(o);
  optionOfType(o.keyPrefix, 'string', 'keyPrefix');
  optionOfType(o.adminToken, 'string', 'adminToken');
  optionOfType(o.adminAuth, 'function', 'adminAuth');
  optionOfType(o.computeRecommendations, 'function', 'computeRecommendations');
  optionOfType(o.warmTimezone, 'string', 'warmTimezone');
  if (o.warmSchedule !== undefined && o.warmSchedule !== false && typeof o.warmSchedule !== 'string') {
    throw new RepriseOptionsError('invalid_type', 'warmSchedule', 'warmSchedule must be a cron expression or false');
  }
  if (o.popularMoods !== undefined && (!Array.isArray(o.popularMoods) || !o.popularMoods.every((m) => typeof m === 'string'))) {
    throw new RepriseOptionsError('invalid_type', 'popularMoods', 'popularMoods must be a list of mood prompts (strings)');
  }
  expectShape(o.registry, 'metrics', 'registry', 'registry must be a prom-client Registry');
  expectShape(o.tracerProvider, 'getTracer', 'tracerProvider', 'tracerProvider must be an OpenTelemetry TracerProvider');
  expectShape(o.redis, 'get', 'redis', 'redis must be an ioredis Redis or Cluster instance');
  expectShape(o.express, 'Router', 'express', 'express must be the express module (import express from "express")');
  knownKeys(o.reccobeats, RECCOBEATS_OPTIONS, 'reccobeats');
  knownKeys(o.idRegistry, ID_REGISTRY_SETTINGS, 'idRegistry');
  missingMarkModeOf(o.idRegistry?.missing, 'idRegistry.missing');
  bloomSettingsOf(o.idRegistry?.bloom, 'idRegistry.bloom');
  return o;
}

/** An object with the method `method` (what tells a prom-client Registry, an ioredis client... apart). */
function expectShape(value: unknown, method: string, name: string, message: string): void {
  if (value !== undefined && typeof (value as Record<string, unknown> | null)?.[method] !== 'function') {
    throw new RepriseOptionsError('invalid_type', name, message);
  }
}
