/**
 * The shape of what the admin routes accept (SPEC "Admin input"), checked before anything is changed:
 * - POST /cache/invalidate: the query holds `category` once and nothing else, and there is no body;
 * - POST /cache/warm-popular-moods: no query; a body, when present, is `application/json` (UTF-8) holding a JSON
 *   object with no fields but `moods` and `force`.
 * Those are HTTP matters. The values themselves (the category, each mood, `force`) are checked by the engine, whose
 * RepriseInputError the error handler answers 400 naming the field and index: the limits live in one place.
 * The query is read from the request line itself, not from `req.query`, so the answer is the same whatever query
 * parser the host's Express uses (Express 4's `qs`, Express 5's `querystring`, a custom one or none).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { CACHE_CATEGORIES } from '../src/cache/categories.js';
import { HttpError } from './json-errors.js';

export const WARM_FIELDS = ['moods', 'force'] as const;

/** The fields of a warm request body, as received: the engine checks their values. */
export interface WarmRequestFields {
  moods?: unknown;
  force?: unknown;
}

/** The body as the admin routes saw it. */
export interface ReceivedBody {
  /** Whether the request carried a non-empty body. */
  present: boolean;
  /** Its bytes, when reprise read it itself. */
  bytes?: Buffer;
  /** What the host's own body parser made of it, when one ran before the router. */
  parsedByHost?: { value: unknown };
}

const received = new WeakMap<Request, ReceivedBody>();

/**
 * Reads the body (any content type, up to `limit`, 413 beyond) so a route can tell "no body" from "a body it does not
 * take". A body the host's parser already read is judged by its Content-Length, or, for a chunked one, by whether the
 * parser made anything of it.
 */
export function receiveBody(rawParser: RequestHandler): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (alreadyRead(req)) {
      received.set(req, { present: hostBodyPresent(req), parsedByHost: { value: req.body } });
      next();
      return;
    }
    rawParser(req, res, (error?: unknown) => {
      if (error) {
        next(error);
        return;
      }
      const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      received.set(req, { present: bytes.length > 0, bytes });
      next();
    });
  };
}

export function receivedBody(req: Request): ReceivedBody {
  return received.get(req) ?? { present: false };
}

function alreadyRead(req: Request): boolean {
  const marked = (req as Request & { _body?: unknown })._body === true;
  return marked || req.readableEnded || (req.complete && !req.readable);
}

function hostBodyPresent(req: Request): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  if (req.headers['transfer-encoding'] === undefined) return false;
  // A chunked body announces itself; only a parser's "nothing" says it was empty ({} may be "{}", so it counts).
  const value: unknown = req.body;
  if (value === undefined || value === null || value === '') return false;
  return !(Buffer.isBuffer(value) && value.length === 0);
}

/** The query parameters of the request line, decoded, in order, repeats kept. */
export function queryParameters(req: Request): Array<[string, string]> {
  const url = req.originalUrl ?? req.url ?? '';
  const mark = url.indexOf('?');
  if (mark === -1) return [];
  return [...new URLSearchParams(url.slice(mark + 1))];
}

/** POST /cache/invalidate: the category to clear, or undefined for all of them. */
export function parseInvalidateRequest(req: Request): string | undefined {
  const parameters = queryParameters(req);
  const unknown = unique(parameters.map(([name]) => name).filter((name) => name !== 'category'));
  if (unknown.length > 0) {
    throw new HttpError(
      400,
      `unknown query ${plural(unknown.length, 'parameter')} ${unknown.map(quote).join(', ')}: POST /cache/invalidate takes only ?category=<category>, once`,
      { parameters: unknown, validCategories: CACHE_CATEGORIES },
    );
  }
  if (parameters.length > 1) {
    throw new HttpError(400, `query parameter "category" is given ${parameters.length} times: give it once`, {
      parameters: ['category'],
      validCategories: CACHE_CATEGORIES,
    });
  }
  const body = receivedBody(req);
  if (body.present) {
    throw new HttpError(
      400,
      'POST /cache/invalidate takes no body: give the category in the query (?category=<category>), or nothing to clear every category',
      { body: describeBody(req, body) },
    );
  }
  return parameters[0]?.[1];
}

/** POST /cache/warm-popular-moods: the fields of a request whose shape has been checked (their values are the engine's to check). */
export function parseWarmRequest(req: Request): WarmRequestFields {
  const names = unique(queryParameters(req).map(([name]) => name));
  if (names.length > 0) {
    throw new HttpError(
      400,
      `unknown query ${plural(names.length, 'parameter')} ${names.map(quote).join(', ')}: the warm options go in a JSON body { moods?, force? }`,
      { parameters: names, allowedFields: WARM_FIELDS },
    );
  }
  const body = receivedBody(req);
  if (!body.present) return {};
  return warmOptions(jsonObjectBody(req, body));
}

function jsonObjectBody(req: Request, body: ReceivedBody): Record<string, unknown> {
  const contentType = req.headers['content-type'];
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw new HttpError(415, `the body must be application/json (got ${contentType === undefined ? 'no Content-Type' : quote(contentType)})`, {
      contentType: contentType ?? null,
    });
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HttpError(415, `the body must be UTF-8 (got charset ${quote(charset)})`, { contentType });
  }
  const value = bodyValue(body);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, `the body must be a JSON object { moods?, force? } (got ${kindOf(value)})`, { allowedFields: WARM_FIELDS });
  }
  return value as Record<string, unknown>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function bodyValue(body: ReceivedBody): unknown {
  let text: string;
  if (body.parsedByHost) {
    const { value } = body.parsedByHost;
    if (typeof value === 'string') text = value;
    else if (Buffer.isBuffer(value)) text = decode(value);
    else return value;
  } else {
    text = decode(body.bytes ?? Buffer.alloc(0));
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'malformed JSON body');
  }
}

function decode(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new HttpError(400, 'the body is not valid UTF-8');
  }
}

function warmOptions(body: Record<string, unknown>): WarmRequestFields {
  const unknownFields = Object.keys(body).filter((name) => !(WARM_FIELDS as readonly string[]).includes(name));
  if (unknownFields.length > 0) {
    throw new HttpError(400, `unknown ${plural(unknownFields.length, 'field')} ${unknownFields.map(quote).join(', ')}: the body is { moods?, force? }`, {
      fields: unknownFields,
      allowedFields: WARM_FIELDS,
    });
  }
  const { moods, force } = body;
  return { ...(moods === undefined ? {} : { moods }), ...(force === undefined ? {} : { force }) };
}

function describeBody(req: Request, body: ReceivedBody): Record<string, unknown> {
  return {
    contentType: req.headers['content-type'] ?? null,
    ...(body.bytes ? { bytes: body.bytes.length } : {}),
  };
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function unique(names: string[]): string[] {
  return [...new Set(names)];
}

function plural(count: number, word: string): string {
  return count === 1 ? word : `${word}s`;
}

/** A client-supplied name in a message: JSON-quoted (control characters escaped) and cut to a readable length. */
function quote(text: string): string {
  return JSON.stringify(clip(text));
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
