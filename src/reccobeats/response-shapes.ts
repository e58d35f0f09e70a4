/**
 * Checks that a parsed ReccoBeats answer has the shape the typed calls promise. Only structure is checked (an
 * object, a `content` array of objects with a string `id`); malformed items are dropped rather than trusted.
 */
import type { ReccobeatsAudioFeatures, ReccobeatsContent, ReccobeatsPage } from './types.js';

export class ShapeError extends Error {
  override name = 'ShapeError';
}

type WithId = { id: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasStringId(value: unknown): value is WithId {
  return isRecord(value) && typeof value.id === 'string' && value.id !== '';
}

export function readContent<T extends WithId>(body: unknown): ReccobeatsContent<T> {
  if (!isRecord(body) || !Array.isArray(body.content)) throw new ShapeError('expected { content: [...] }');
  return { content: body.content.filter(hasStringId) as unknown as T[] };
}

export function readPage<T extends WithId>(body: unknown): ReccobeatsPage<T> {
  const { content } = readContent<T>(body);
  const record = body as Record<string, unknown>;
  const count = (name: string, fallback: number) => {
    const value = record[name];
    return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
  };
  return {
    content,
    page: count('page', 0),
    size: count('size', content.length),
    totalElements: count('totalElements', content.length),
    totalPages: count('totalPages', 1),
  };
}

export function readAudioFeatures(body: unknown): ReccobeatsAudioFeatures {
  if (!hasStringId(body)) throw new ShapeError('expected audio features with an id');
  return body as unknown as ReccobeatsAudioFeatures;
}
