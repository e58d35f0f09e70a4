/** Checks and encodes what callers pass to the typed calls, before anything is sent. */
import { MAX_IDS_PER_REQUEST, RECCOBEATS_ENDPOINTS, type PageQuery, type ReccobeatsEndpoint } from './types.js';
import { RepriseInputError } from '../errors.js';

/** Spotify IDs and ReccoBeats UUIDs alike; anything else could escape its place in the URL. */
const API_ID = /^[A-Za-z0-9-]{1,64}$/;
export const MAX_PAGE_SIZE = 50;
export const MAX_RECOMMENDATIONS = 100;
export const MAX_SEEDS = 5;

export function assertIds(ids: readonly unknown[], endpoint: ReccobeatsEndpoint): asserts ids is readonly string[] {
  if (!Array.isArray(ids)) throw new RepriseInputError(`${RECCOBEATS_ENDPOINTS[endpoint].template}: IDs must be an array of strings`);
  const bad = ids.findIndex((id) => typeof id !== 'string' || !API_ID.test(id));
  if (bad !== -1) {
    const shown = JSON.stringify(String(ids[bad]).slice(0, 70));
    throw new RepriseInputError(`${RECCOBEATS_ENDPOINTS[endpoint].template}: IDs are 1-64 letters, digits or '-', got ${shown}`);
  }
}

export function assertIdList(ids: readonly string[], endpoint: ReccobeatsEndpoint): void {
  assertIds(ids, endpoint);
  if (ids.length < 1 || ids.length > MAX_IDS_PER_REQUEST) {
    throw new RepriseInputError(`${RECCOBEATS_ENDPOINTS[endpoint].template} takes 1 to ${MAX_IDS_PER_REQUEST} IDs, got ${ids.length}`);
  }
}

export function pageParams(query: PageQuery): Record<string, string> {
  const params: Record<string, string> = {};
  if (query.page !== undefined) params.page = String(wholeIn(query.page, 0, Number.MAX_SAFE_INTEGER, 'page'));
  if (query.size !== undefined) params.size = String(wholeIn(query.size, 1, MAX_PAGE_SIZE, 'size'));
  return params;
}

export function wholeIn(value: number, minimum: number, maximum: number, name: string): number {
  if (!Number.isInteger(value) || value < minimum || value > maximum) {
    throw new RepriseInputError(`${name} must be a whole number from ${minimum} to ${maximum}, got ${value}`);
  }
  return value;
}
