/**
 * Admin authentication that fails closed (SPEC "Admin routes"):
 * - with a token, every request needs `Authorization: Bearer <token>` (none: 401, wrong: 403), compared in constant time;
 * - with the host's own middleware (`authenticate`), that middleware decides, and runs after the token check if both
 *   are given;
 * - with neither, read-only requests (GET, HEAD) pass and anything that changes state is refused with 403 saying how
 *   to configure a token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { knownKeys, optionNames, RepriseOptionsError } from '../src/validate.js';

export interface AdminAuthOptions {
  /** The bearer token admin requests must carry. [REPRISE_ADMIN_TOKEN] */
  token?: string;
  /** The host's own authentication middleware. */
  authenticate?: RequestHandler;
}

const AUTH_OPTIONS = optionNames<AdminAuthOptions>({ token: true, authenticate: true });

const READ_ONLY_METHODS = new Set(['GET', 'HEAD']);

export function adminAuth(options: AdminAuthOptions = {}): RequestHandler {
  knownKeys(options, AUTH_OPTIONS, '');
  const { token, authenticate } = options;
  if (token !== undefined && (typeof token !== 'string' || token.length < 16)) {
    throw new RepriseOptionsError(typeof token === 'string' ? 'invalid_value' : 'invalid_type', 'adminToken', 'adminToken must be a string of at least 16 characters');
  }
  if (authenticate !== undefined && typeof authenticate !== 'function') {
    throw new RepriseOptionsError('invalid_type', 'adminAuth', 'adminAuth must be an Express middleware function (req, res, next)');
  }
  const expected = token === undefined ? undefined : digest(token);

  return (req: Request, res: Response, next: NextFunction) => {
    if (expected) {
      const presented = bearerToken(req.headers.authorization);
      if (presented === undefined) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="reprise"');
        res.status(401).json({ error: 'authentication required: send Authorization: Bearer <admin token>' });
        return;
      }
      // Digests have one length, so the comparison time says nothing about the token.
      if (!timingSafeEqual(digest(presented), expected)) {
        res.status(403).json({ error: 'the admin token is not valid' });
        return;
      }
    }
    if (authenticate) {
      authenticate(req, res, next);
      return;
    }
    if (expected || READ_ONLY_METHODS.has(req.method)) {
      next();
      return;
    }
    res.status(403).json({
      error: 'admin actions are disabled until authentication is configured',
      hint: 'set REPRISE_ADMIN_TOKEN (or the adminToken option), or pass your own adminAuth middleware',
    });
  };
}

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
