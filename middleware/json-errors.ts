/**
 * The JSON error handler for reprise's routes: every error becomes `{ error, ... }` with the right status, and
 * internals (stack traces, Redis addresses) never reach the client. Wrong input to reprise (any RepriseInputError:
 * an unknown category, a bad mood, a key or value reprise refuses) is 400 `{ error, ...details }`, so a route hands
 * what it received to the engine and needs no copy of the engine's limits.
 */
import type { ErrorRequestHandler } from 'express';
import { RepriseInputError } from '../src/errors.js';
import type { Logger } from '../src/logger.js';
import { redactRedisUrl } from '../src/redis/redact.js';

/** An error whose message is meant for the client, with its HTTP status. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
}

export function jsonErrorHandler(logger?: Pick<Logger, 'error'>): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const { status, body } = describe(error);
    if (status >= 500) logger?.error(`request failed: ${redactRedisUrl(error instanceof Error ? error.message : String(error))}`);
    res.status(status).json(body);
  };
}

function describe(error: unknown): { status: number; body: Record<string, unknown> } {
  if (error instanceof HttpError) return { status: error.status, body: { error: error.message, ...error.details } };
  if (error instanceof RepriseInputError) return { status: 400, body: { error: error.message, ...error.details } };
  const parser = (error ?? {}) as BodyParserError;
  switch (parser.type) {
    case 'entity.too.large':
      return { status: 413, body: { error: 'request body too large', limitBytes: parser.limit } };
    case 'entity.parse.failed':
      return { status: 400, body: { error: 'malformed JSON body' } };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, body: { error: 'unsupported body encoding' } };
    default:
      break;
  }
  if (typeof parser.status === 'number' && parser.status >= 400 && parser.status < 500) {
    return { status: parser.status, body: { error: 'bad request' } };
  }
  return { status: 500, body: { error: 'internal error' } };
}
