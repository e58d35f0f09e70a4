/**
 * Property: whatever a client sends to the admin routes (any method Node's HTTP server parses, known, misspelt and
 * random paths, query strings with bracketed, repeated and misspelt parameters and any Unicode including lone
 * surrogates, any content type and encoding, JSON or not, chunked or not), the router mounted in a real host app on a
 * real Redis holding cached entries
 * - never answers 5xx, and every answer with a body is JSON (an object with `error` for 4xx): no HTML, no stack trace;
 * - never removes anything after refusing a request (4xx): every data key in Redis before is still there after;
 * - never hands a warm job a mood that is not well-formed Unicode with a letter or digit.
 * On Express 5 and 4, with and without the host's own body parsers in front of the router.
 */
import http from 'node:http';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import type { NextFunction, Request, Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReprise, type Reprise } from '../../src/reprise.js';
import { CACHE_CATEGORIES } from '../../src/cache/categories.js';
import { EXPRESS_VERSIONS } from '../harness/express-versions.js';
import { useRedisServer } from '../harness/lifecycle.js';
import { recordingLogger, type RecordingLogger } from '../harness/logger.js';
import { hasRedisServer } from '../harness/redis-servers.js';
import { listen, percentEncode, type Listening, type RawRequest, type RawResponse } from './raw-http.js';

const TOKEN = 'admin-fuzz-test-token-0123456';
const PREFIX = '/api/agents/system';
const RUNS = 200;
const ROUTES = ['/cache/stats', '/cache/warm-popular-moods', '/cache/invalidate', '/id-registry/stats', '/profiling/metrics'];
// CONNECT is a tunnel, not a request to a route; every other method Node's parser accepts can reach the router.
const METHODS = http.METHODS.filter((method) => method !== 'CONNECT');

// Characters: any code point, lone surrogates, and the ones that mean something in a URL, a query or a mood.
const char = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)) },
  { weight: 3, arbitrary: fc.constantFrom('a', 'Z', '0', ' ', '&', '=', '[', ']', '%', '+', '#', '?', '/', '\u0000', '\u0007', '\u200b', '\ufeff', '\u00ad', '!', 'é', '😀') },
);
const text = (maxLength: number) => fc.string({ unit: char, maxLength });

const paramName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('category', 'Category', 'CATEGORY', 'categroy', 'category[]', 'category[0]', 'category[a]', 'category.x', 'moods', 'force', '', ' category') },
  { weight: 2, arbitrary: text(8) },
);
const paramValue = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...CACHE_CATEGORIES, 'all', '', 'everything', 'Recommendations') },
  { weight: 2, arbitrary: text(10) },
);
/** What careless clients put in a query besides well-encoded text. */
const mangled = fc.constantFrom('%', '%zz', '%ED%A0%80', '%C3', '%00', '+', '[', ']', '&&', '=', '[]');
const param = fc.record({ name: paramName, value: paramValue, equals: fc.boolean(), tail: fc.option(mangled, { freq: 8 }) }).map(
  ({ name, value, equals, tail }) => `${percentEncode(name)}${equals || value !== '' ? `=${percentEncode(value)}` : ''}${tail ?? ''}`,
);
const query = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 6, arbitrary: fc.array(param, { minLength: 1, maxLength: 4 }).map((params) => `?${params.join('&')}`) },
  { weight: 1, arbitrary: fc.constantFrom('?', '?&', '?category=recommendations&category=recommendations', '?category[]=recommendations') },
);

const path = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...ROUTES) },
  { weight: 1, arbitrary: fc.constantFrom(...ROUTES).map((route) => `${route}/`) },
  { weight: 1, arbitrary: fc.constantFrom(...ROUTES).map((route) => route.toUpperCase()) },
  { weight: 1, arbitrary: fc.constantFrom('', '/', '/cache', '/cache/invalidate/recommendations', '/cache%2Fstats', '/%E0%A4%A', '//cache/stats') },
  { weight: 2, arbitrary: fc.array(text(6), { maxLength: 3 }).map((parts) => `/${parts.map(percentEncode).join('/')}`) },
);

const method = fc.oneof({ weight: 6, arbitrary: fc.constant('POST') }, { weight: 3, arbitrary: fc.constant('GET') }, { weight: 3, arbitrary: fc.constantFrom(...METHODS) });
/** Mostly the two routes that change state, with the methods they take; then anything. */
const target = fc.oneof(
  { weight: 6, arbitrary: fc.record({ method: fc.constant('POST'), path: fc.constantFrom('/cache/invalidate', '/cache/warm-popular-moods') }) },
  { weight: 4, arbitrary: fc.record({ method, path }) },
);

const contentType = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      'application/json', 'application/json; charset=utf-8', 'Application/JSON; charset="UTF-8"', 'application/json; charset=latin1',
      'application/json; charset=utf-16', 'application/vnd.api+json', 'text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz', 'application/octet-stream', 'text/html', '*/*', 'json', ';', '',
    ),
  },
  // Any header value Node lets a client send.
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 30 }).filter((value) => /^[\t\x20-\x7e]*$/.test(value)) },
);
const contentEncoding = fc.oneof(
  { weight: 12, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-unknown') },
);

const mood = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('calm', 'Party Vibes!', 'late night', 'Ｆｏｃｕｓ', '夜', 'lo-fi & chill', 'calm\u0000') },
  { weight: 3, arbitrary: fc.constantFrom('\u0000', '\ud800', 'calm \udc00', '\u200b', '!!!', '', ' ', 'x'.repeat(201)) },
  { weight: 3, arbitrary: text(12) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 1 }) },
);
const warmBody = fc
  .record(
    {
      moods: fc.oneof({ weight: 5, arbitrary: fc.array(mood, { maxLength: 4 }) }, { weight: 1, arbitrary: fc.anything({ maxDepth: 1 }) }),
      force: fc.oneof({ weight: 5, arbitrary: fc.boolean() }, { weight: 1, arbitrary: fc.anything({ maxDepth: 0 }) }),
      category: paramValue,
      extra: fc.anything({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  )
  .map((value) => JSON.stringify(value));
const body = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constant('') },
  { weight: 2, arbitrary: fc.constantFrom('[]', '{}', 'null', '"calm"', '1', 'true', '{"moods": [', '{"moods":["calm"]}', ' ', '\ufeff{}', `{"moods":["${'x'.repeat(20_000)}"]}`) },
  { weight: 6, arbitrary: warmBody },
  { weight: 2, arbitrary: fc.json({ maxDepth: 2 }) },
  { weight: 2, arbitrary: text(20) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 40 }) },
);

const auth = fc.oneof(
  { weight: 30, arbitrary: fc.constant(`Bearer ${TOKEN}`) },
  { weight: 1, arbitrary: fc.constantFrom(undefined, 'Bearer not-the-admin-token-at-all', `Basic ${TOKEN}`) },
);

const request = fc
  .record({ target, query, contentType, contentEncoding, body, chunked: fc.boolean(), auth })
  .map(({ target: { method, path }, query, contentType, contentEncoding, body, chunked, auth }): RawRequest => ({
    method,
    path: `${PREFIX}${path}${query}`,
    headers: {
      ...(auth === undefined ? {} : { authorization: auth }),
      ...(contentType === undefined ? {} : { 'content-type': contentType }),
      ...(contentEncoding === undefined ? {} : { 'content-encoding': contentEncoding }),
    },
    ...(body === undefined ? {} : { body }),
    chunked,
  }));

const STACK_OR_HTML = /<html|<!doctype|<pre>|<body|\bat [^\s]+ \(|\n\s+at |node_modules|\.ts:\d+/i;

/** GET (or HEAD) of the router's root: the operator page, or the redirect to it. */
function isOperatorPage(sent: RawRequest): boolean {
  const route = sent.path.slice(PREFIX.length).split('?')[0];
  return (sent.method === 'GET' || sent.method === 'HEAD') && (route === '' || route === '/');
}

function checkAnswer(sent: RawRequest, res: RawResponse): void {
  const what = `${sent.method} ${sent.path} -> ${res.status} ${res.text.slice(0, 300)}`;
  if (isOperatorPage(sent) && (res.status === 301 || /^text\/html/.test(String(res.headers['content-type'])))) {
    // Static, no data in it, so no token needed; the redirect carries no body.
    if (res.status === 301) expect(res.text, what).toBe('');
    else expect([res.status, res.headers['content-security-policy']], what).toEqual([200, expect.stringMatching(/frame-ancestors 'none'/)]);
    return;
  }
  expect(res.status, what).toBeGreaterThanOrEqual(200);
  expect(res.status, what).toBeLessThan(500);
  expect(res.text, what).not.toMatch(STACK_OR_HTML);
  if (res.text === '') return; // HEAD, 204
  expect(res.headers['content-type'], what).toMatch(/^application\/json/);
  const answer = JSON.parse(res.text) as unknown;
  expect(typeof answer, what).toBe('object');
  if (res.status >= 400) expect(typeof (answer as { error?: unknown }).error, what).toBe('string');
}

/**
 * A success only answers a request the SPEC lets succeed: POST /cache/invalidate with no body and either no query or
 * `category` once (and says which), POST /cache/warm-popular-moods with no query and no body or a JSON one.
 */
function checkSuccessWasAsked(sent: RawRequest, res: RawResponse): void {
  if (res.status >= 300 || sent.method !== 'POST') return;
  const what = `${sent.method} ${sent.path} -> ${res.status} ${res.text.slice(0, 300)}`;
  const [route = '', search = ''] = sent.path.slice(PREFIX.length).split('?');
  const parameters = [...new URLSearchParams(search)];
  const bodyBytes = sent.body === undefined ? 0 : Buffer.byteLength(sent.body);
  if (/^\/cache\/invalidate\/?$/i.test(route)) {
    expect(bodyBytes, what).toBe(0);
    expect(parameters.length, what).toBeLessThanOrEqual(1);
    const category = parameters[0];
    if (category) expect(category[0], what).toBe('category');
    expect(JSON.parse(res.text).category, what).toBe(category?.[1] ?? 'all');
  } else if (/^\/cache\/warm-popular-moods\/?$/i.test(route)) {
    expect(parameters, what).toEqual([]);
    if (bodyBytes > 0) expect(sent.headers?.['content-type']?.split(';')[0]?.trim().toLowerCase(), what).toBe('application/json');
  }
}

describe.skipIf(!hasRedisServer).each(
  EXPRESS_VERSIONS.flatMap(({ name, express }) => [false, true].map((hostParsers) => ({ name, express, hostParsers }))),
)('admin routes under random requests: $name, host body parsers $hostParsers', ({ express, hostParsers }) => {
  const server = useRedisServer();
  const keyPrefix = 'fuzz:';
  let reprise: Reprise;
  let logger: RecordingLogger;
  let listening: Listening;
  let redis: Redis;
  const computed: string[] = [];

  beforeAll(async () => {
    logger = recordingLogger();
    reprise = await createReprise({
      redisUrl: server().url, keyPrefix, adminToken: TOKEN, warmSchedule: false, popularMoods: ['calm', 'party vibes'], logger, env: {}, express,
      computeRecommendations: async (moodPrompt: string) => {
        computed.push(moodPrompt);
        return { recommendations: [{ title: `song for ${moodPrompt}` }], moodAnalysis: { mood: moodPrompt } };
      },
    });
    const app = express();
    if (hostParsers) app.use(express.json(), express.text(), express.urlencoded({ extended: true }));
    app.use(PREFIX, reprise.router);
    // The host's own parsers answer what they refuse (malformed JSON, a charset they do not know) before the router
    // sees it; a host that answers JSON keeps this property. Nothing the router raises gets here.
    app.use((error: { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
      res.status(error.status && error.status < 500 ? error.status : 500).json({ error: `host: ${error.type ?? 'error'}` });
    });
    listening = await listen(app);
    redis = new Redis(server().url);
  });
  afterAll(async () => {
    await listening?.close();
    await reprise?.close();
    await redis?.quit();
  });

  async function seed(): Promise<void> {
    await reprise.cache.set('recommendations', 'rainy day', [{ title: 'a' }]);
    await reprise.cache.set('top_tracks', ['user-1', 'short_term'], ['t1', 't2']);
    await reprise.cache.set('mood_analysis', 'calm', { energy: 0.2 });
    await reprise.cache.set('user_profile', 'user-1', { name: 'Ada' });
    await reprise.idRegistry.markValidated('4uLU6hMCjMI75M1A2tKUQC', '0b7b1d2c-3f4e-4a5b-8c6d-7e8f9a0b1c2d');
    await reprise.idRegistry.markMissing('1A2B3C4D5E6F7G8H9I0J1K');
  }
  /** Cached data in Redis (reprise's own '@' keys, such as the warm job's record, left out). */
  async function dataKeys(): Promise<string[]> {
    return (await redis.keys(`${keyPrefix}*`)).filter((key) => !key.startsWith(`${keyPrefix}@`)).sort();
  }

  it(`answers ${RUNS} random requests without a 5xx, HTML or a stack trace, and removes nothing when it refuses one`, async () => {
    await seed();
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (sent) => {
        const before = await dataKeys();
        const res = await listening.send(sent);
        checkAnswer(sent, res);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        checkSuccessWasAsked(sent, res);
        if (res.status >= 400) {
          // A warm job started by an earlier request may still add entries; nothing may go.
          const after = new Set(await dataKeys());
          expect(before.filter((key) => !after.has(key)), `${sent.method} ${sent.path} -> ${res.status} removed entries`).toEqual([]);
        } else if (before.length > 0 && (await dataKeys()).length < before.length) {
          await seed();
        }
      }),
      { numRuns: RUNS },
    );
    // Moods that reached a warm job were well-formed with a letter or digit; no job died of a key it could not encode.
    for (const mood of computed) {
      expect(/\p{Cs}/u.test(mood), JSON.stringify(mood)).toBe(false);
      expect(/[\p{L}\p{N}]/u.test(mood), JSON.stringify(mood)).toBe(true);
    }
    expect(logger.lines.join('\n')).not.toMatch(/URIError|request failed/);
    // The run exercised refusals and successes alike.
    expect([...statuses.keys()].some((status) => status >= 400)).toBe(true);
    expect([...statuses.keys()].some((status) => status < 300)).toBe(true);
  });
});
