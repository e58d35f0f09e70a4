/**
 * convertSpotifyTracksToReccobeat: Spotify track IDs -> ReccoBeats IDs, asking ReccoBeats only about IDs the
 * registry cannot answer.
 *   1. duplicates are dropped; one registry read answers validated IDs and skips IDs known to be missing;
 *   2. the rest go to `GET /v1/track?ids=` in batches of `batchSize` (the client bounds concurrency);
 *   3. a returned track is matched to a requested ID only through the Spotify link in its `href`, never by position
 *      (and only when its `id` is a ReccoBeats UUID the registry can store);
 *   4. requested IDs absent from a successful answer are marked missing, but only when every returned track was
 *      matched (an unmatched track could be one of them); a failed batch marks nothing.
 */
import { SpanKind } from '@opentelemetry/api';
import { consoleLogger, type Logger } from '../logger.js';
import { RepriseInputError } from '../errors.js';
import type { IdRegistry } from '../registry/id-registry.js';
import { canonicalReccobeatsId, isReccobeatsId } from '../registry/ids.js';
import type { ReccobeatsClient } from './client.js';
import type { ConversionOutcome } from '../telemetry/metrics.js';
import { assertSpotifyIds, spotifyTrackIdFromHref } from './spotify-ids.js';

/** What conversion needs of the ID registry. */
export type IdLookup = Pick<IdRegistry, 'bulkLookup' | 'bulkMarkValidated' | 'bulkMarkMissing' | 'recordApiCallsAvoided'>;

export interface ConversionDependencies {
  client: ReccobeatsClient;
  registry: IdLookup;
  logger?: Logger;
}

export interface ConversionReport {
  /** Spotify ID -> ReccoBeats ID, in the order the IDs were given. */
  mapped: Map<string, string>;
  /** How many of `mapped` came from the registry without a request. */
  fromRegistry: number;
  /** Skipped: the registry knows ReccoBeats lacks them. */
  knownMissing: string[];
  /** Absent from a successful answer, now marked missing. */
  newlyMissing: string[];
  /** Neither mapped nor marked: their batch failed, or its answer could not be fully matched. */
  unresolved: string[];
  /** `GET /v1/track` calls made (retries not counted). */
  batches: number;
  failedBatches: number;
}

/** Reason stored with IDs marked missing by conversion (one of the registry's MISSING_REASONS). */
export const MISSING_REASON = 'not_found';

export async function convertSpotifyTracksToReccobeat(
  spotifyIds: readonly string[],
  dependencies: ConversionDependencies,
): Promise<Map<string, string>> {
  return (await convertSpotifyTracks(spotifyIds, dependencies)).mapped;
}

/** The same conversion, with what happened to every ID. */
export async function convertSpotifyTracks(spotifyIds: readonly string[], dependencies: ConversionDependencies): Promise<ConversionReport> {
  if (!Array.isArray(spotifyIds)) throw new RepriseInputError('spotifyIds must be an array of Spotify track IDs');
  assertSpotifyIds(spotifyIds);
  const { client, registry } = dependencies;
  const logger = dependencies.logger ?? consoleLogger;

  return client.telemetry.span('reccobeats.convert', async (span) => {
    const unique = [...new Set(spotifyIds)];
    avoided(registry, 'duplicate', spotifyIds.length - unique.length);

    const known = unique.length === 0 ? { validated: new Map<string, string>(), missing: [], unknown: [] } : await orFallback(
      () => registry.bulkLookup(unique),
      { validated: new Map<string, string>(), missing: [], unknown: unique },
      'look IDs up',
      logger,
    );
    const { validated, missing: knownMissing, unknown: toFetch } = known;
    avoided(registry, 'validated_id', validated.size);
    avoided(registry, 'known_missing', knownMissing.length);

    const batches = chunk(toFetch, client.batchSize);
    const outcomes = await Promise.all(batches.map((batch) => convertBatch(batch, client, registry, logger)));

    const fetched = new Map<string, string>();
    const report: ConversionReport = {
      mapped: new Map(),
      fromRegistry: validated.size,
      knownMissing,
      newlyMissing: [],
      unresolved: [],
      batches: batches.length,
      failedBatches: 0,
    };
    for (const outcome of outcomes) {
      for (const [spotifyId, reccobeatsId] of outcome.found) fetched.set(spotifyId, reccobeatsId);
      report.newlyMissing.push(...outcome.missing);
      report.unresolved.push(...outcome.unresolved);
      if (outcome.failed) report.failedBatches += 1;
    }
    for (const id of unique) {
      const reccobeatsId = validated.get(id) ?? fetched.get(id);
      if (reccobeatsId !== undefined) report.mapped.set(id, reccobeatsId);
    }

    recordOutcomes(client, {
      registry_validated: validated.size,
      registry_missing: knownMissing.length,
      found: fetched.size,
      not_found: report.newlyMissing.length,
      unresolved: report.unresolved.length,
    });
    span.setAttributes({
      'reprise.ids.requested': spotifyIds.length,
      'reprise.ids.unique': unique.length,
      'reprise.ids.from_registry': validated.size,
      'reprise.ids.known_missing': knownMissing.length,
      'reprise.ids.fetched': fetched.size,
      'reprise.ids.newly_missing': report.newlyMissing.length,
      'reprise.ids.unresolved': report.unresolved.length,
      'reprise.batches': report.batches,
      'reprise.batches.failed': report.failedBatches,
    });
    return report;
  }, { kind: SpanKind.INTERNAL });
}

interface BatchOutcome {
  found: Map<string, string>;
  missing: string[];
  unresolved: string[];
  failed: boolean;
}

async function convertBatch(batch: string[], client: ReccobeatsClient, registry: IdLookup, logger: Logger): Promise<BatchOutcome> {
  let tracks;
  try {
    tracks = await client.getTracks(batch);
  } catch (error) {
    logger.warn(`ReccoBeats conversion: a batch of ${batch.length} IDs failed and stays unresolved: ${(error as Error).message}`);
    return { found: new Map(), missing: [], unresolved: batch, failed: true };
  }

  const requested = new Set(batch);
  const found = new Map<string, string>();
  let unmatched = 0;
  for (const track of tracks) {
    const spotifyId = spotifyTrackIdFromHref(track.href);
    if (spotifyId === null || !requested.has(spotifyId) || !isReccobeatsId(track.id)) unmatched += 1;
    else if (!found.has(spotifyId)) found.set(spotifyId, canonicalReccobeatsId(track.id));
  }
  const absent = batch.filter((id) => !found.has(id));
  // A track we could not match may be the answer for one of the absent IDs: then none of them is surely missing.
  const missing = unmatched === 0 ? absent : [];
  const unresolved = unmatched === 0 ? [] : absent;
  if (unmatched > 0) {
    logger.warn(`ReccoBeats conversion: ${unmatched} returned track(s) had no Spotify link to a requested ID; ${absent.length} ID(s) left unmarked`);
  }

  await Promise.all([
    found.size > 0 ? orFallback(() => registry.bulkMarkValidated(found), undefined, 'record validated IDs', logger) : undefined,
    missing.length > 0 ? orFallback(() => registry.bulkMarkMissing(missing, MISSING_REASON), undefined, 'record missing IDs', logger) : undefined,
  ]);
  return { found, missing, unresolved, failed: false };
}

/** Unique IDs of one conversion by outcome, for the registry-pattern alerts (reprise_id_conversions_total). */
function recordOutcomes(client: ReccobeatsClient, outcomes: Record<ConversionOutcome, number>): void {
  for (const [outcome, count] of Object.entries(outcomes)) if (count > 0) client.telemetry.metrics.idConversions.inc({ outcome }, count);
}

function avoided(registry: IdLookup, reason: string, count: number): void {
  if (count > 0) registry.recordApiCallsAvoided(reason, count);
}

/** The registry degrades by itself when Redis fails; this guards against anything else it might throw. */
async function orFallback<T>(call: () => Promise<T>, fallback: T, what: string, logger: Logger): Promise<T> {
  try {
    return await call();
  } catch (error) {
    logger.warn(`ReccoBeats conversion could not ${what} in the ID registry: ${(error as Error).message}`);
    return fallback;
  }
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}
