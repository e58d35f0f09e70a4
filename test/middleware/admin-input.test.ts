/**
 * SPEC "Admin input" through a real host app on a real Redis, on Express 5 and 4: what POST /cache/invalidate and
 * POST /cache/warm-popular-moods refuse (and that a refusal changes nothing in Redis and starts no job), 404 for
 * unknown paths and 405 with Allow for other methods under any mount path, and JSON errors throughout. Requests go
 * over the wire (raw-http.ts) so a test can send exactly what a client can: no Content-Type, raw bytes, lone
 * surrogates in the query.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReprise, type Reprise } from '../../src/reprise.js';
import { CACHE_CATEGORIES } from '../../src/cache/categories.js';
import { EXPRESS_VERSIONS } from '../harness/express-versions.js';
import { closeAfterEachTest, useRedisServer } from '../harness/lifecycle.js';
import { recordingLogger } from '../harness/logger.js';
import { hasRedisServer } from '../harness/redis-servers.js';
import { listen, percentEncode, type Listening, type RawRequest, type RawResponse } from './raw-http.js';

const TOKEN = 'admin-input-test-token-0123';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const PREFIX = '/api/agents/system';
const MOODS = ['calm', 'party vibes'];

/** The answer is JSON `{ error, ... }`: never HTML, never a stack trace. */
function expectJsonError(res: RawResponse, status: number): Record<string, unknown> {
  expect(res.status, res.text).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.text).not.toMatch(/<html|<!doctype|<pre>|\n\s+at /i);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expect(typeof body.error).toBe('string');
  return body;
}

describe.skipIf(!hasRedisServer).each(EXPRESS_VERSIONS)('admin input on $name', ({ express }) => {
  const server = useRedisServer();
  const opened = closeAfterEachTest<{ close(): unknown }>();
  let redis: Redis;
  let hosts = 0;
  beforeAll(() => {
    redis = new Redis(server().url);
  });
  afterAll(async () => {
    await redis.quit();
  });

  /** A host app with reprise on Redis (its own key prefix) and a few cached entries in three categories. */
  async function host(options: { hostParsers?: boolean; mount?: string; compute?: boolean } = {}) {
    const calls: string[] = [];
    hosts += 1;
    const keyPrefix = `input${hosts}:`;
    const reprise = await createReprise({
      redisUrl: server().url, keyPrefix, adminToken: TOKEN, warmSchedule: false, popularMoods: MOODS, logger: recordingLogger(), env: {}, express,
      ...(options.compute === false ? {} : {
        computeRecommendations: async (moodPrompt: string) => {
          calls.push(moodPrompt);
          return { recommendations: [{ title: `song for ${moodPrompt}` }] };
        },
      }),
    });
    opened.push(reprise);
    await reprise.cache.set('recommendations', 'a', [1]);
    await reprise.cache.set('recommendations', 'b', [2]);
    await reprise.cache.set('top_tracks', 'u', ['t']);
    await reprise.cache.set('mood_analysis', 'calm', { energy: 0.2 });
    const app = express();
    if (options.hostParsers) app.use(express.json(), express.text(), express.urlencoded({ extended: false }));
    app.get('/api/health', (_req, res) => { res.json({ ok: true }); });
    app.use(options.mount ?? PREFIX, reprise.router);
    const http = await listen(app);
    opened.push(http);
    const keys = async () => (await redis.keys(`${keyPrefix}*`)).sort();
    return { reprise, http, calls, keys, entries: await keys() };
  }

  describe.each([false, true])('host body parsers before the router: %s', (hostParsers) => {
    it('POST /cache/invalidate: a misspelt, repeated or bracketed parameter, or any body, is 400 naming it; nothing is removed', async () => {
      const { http, keys, entries } = await host({ hostParsers });
      expect(entries.length).toBeGreaterThanOrEqual(4);
      const refused: Array<[RawRequest, string]> = [
        [{ method: 'POST', path: '/cache/invalidate?categroy=recommendations' }, '"categroy"'],
        [{ method: 'POST', path: '/cache/invalidate?Category=recommendations' }, '"Category"'],
        [{ method: 'POST', path: '/cache/invalidate?category[]=recommendations' }, '"category[]"'],
        [{ method: 'POST', path: '/cache/invalidate?category%5B%5D=recommendations' }, '"category[]"'],
        [{ method: 'POST', path: '/cache/invalidate?category[a]=recommendations' }, '"category[a]"'],
        [{ method: 'POST', path: '/cache/invalidate?category=recommendations&dryRun=1' }, '"dryRun"'],
        [{ method: 'POST', path: '/cache/invalidate?=recommendations' }, '""'],
        [{ method: 'POST', path: `/cache/invalidate?${percentEncode('cat\uD800')}=x` }, '"cat\uFFFD\uFFFD\uFFFD"'],
        [{ method: 'POST', path: '/cache/invalidate?category=recommendations&category=top_tracks' }, 'given 2 times'],
        [{ method: 'POST', path: '/cache/invalidate?category=recommendations&category=recommendations' }, 'given 2 times'],
        [{ method: 'POST', path: '/cache/invalidate', headers: { 'content-type': 'application/json' }, body: '{"category":"recommendations"}' }, 'no body'],
        [{ method: 'POST', path: '/cache/invalidate', headers: { 'content-type': 'application/json' }, body: '{}' }, 'no body'],
        [{ method: 'POST', path: '/cache/invalidate', headers: { 'content-type': 'text/plain' }, body: 'recommendations' }, 'no body'],
        [{ method: 'POST', path: '/cache/invalidate', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'category=recommendations' }, 'no body'],
        [{ method: 'POST', path: '/cache/invalidate', body: 'category=recommendations' }, 'no body'],
        [{ method: 'POST', path: '/cache/invalidate', body: 'x', chunked: true }, 'no body'],
        [{ method: 'POST', path: '/cache/invalidate', headers: { 'content-type': 'application/json' }, body: '{}', chunked: true }, 'no body'],
        [{ method: 'POST', path: '/cache/invalidate?category=recommendations', headers: { 'content-type': 'application/json' }, body: '[]' }, 'no body'],
      ];
      for (const [request, named] of refused) {
        const res = await http.send({ ...request, path: `${PREFIX}${request.path}`, headers: { ...AUTH, ...request.headers } });
        const body = expectJsonError(res, 400);
        expect(body.error, request.path).toContain(named);
        expect(await keys(), request.path).toEqual(entries);
      }
      // Named in the error's fields too.
      const misspelt = expectJsonError(await http.send({ method: 'POST', path: `${PREFIX}/cache/invalidate?categroy=recommendations`, headers: AUTH }), 400);
      expect(misspelt).toMatchObject({ parameters: ['categroy'], validCategories: [...CACHE_CATEGORIES] });
      const withBody = expectJsonError(await http.send({ method: 'POST', path: `${PREFIX}/cache/invalidate`, headers: { ...AUTH, 'content-type': 'text/plain' }, body: 'x' }), 400);
      expect(withBody.body).toMatchObject({ contentType: 'text/plain' });

      // An unknown category is still 400 with the valid ones, and an empty one too.
      for (const value of ['everything', '', 'all', 'Recommendations']) {
        const unknown = expectJsonError(await http.send({ method: 'POST', path: `${PREFIX}/cache/invalidate?category=${value}`, headers: AUTH }), 400);
        expect(unknown.validCategories).toEqual([...CACHE_CATEGORIES]);
      }
      expect(await keys()).toEqual(entries);

      // A single category clears that one; a bare POST (no query, no body) still clears every category.
      const one = await http.send({ method: 'POST', path: `${PREFIX}/cache/invalidate?category=recommendations`, headers: AUTH });
      expect([one.status, JSON.parse(one.text)]).toEqual([200, { category: 'recommendations', invalidated: 2 }]);
      expect((await keys()).some((key) => key.includes('recommendations:'))).toBe(false);
      expect((await keys()).some((key) => key.includes('top_tracks:'))).toBe(true);
      const all = await http.send({ method: 'POST', path: `${PREFIX}/cache/invalidate`, headers: AUTH });
      expect([all.status, JSON.parse(all.text)]).toEqual([200, { category: 'all', invalidated: 2 }]);
      expect((await keys()).some((key) => key.includes('top_tracks:') || key.includes('mood_analysis:'))).toBe(false);
    });

    it('POST /cache/warm-popular-moods: a body that is not application/json is 415, one that is not a JSON object 400; no job starts', async () => {
      const { http, reprise, calls, keys, entries } = await host({ hostParsers });
      const refused: Array<[RawRequest, number, RegExp]> = [
        [{ method: 'POST', path: '', headers: { 'content-type': 'application/json' }, body: '[]' }, 400, /JSON object.*got an array/],
        [{ method: 'POST', path: '', headers: { 'content-type': 'application/json' }, body: '["calm"]' }, 400, /JSON object/],
        [{ method: 'POST', path: '', headers: { 'content-type': 'text/plain' }, body: '{"moods":["calm"]}' }, 415, /application\/json.*text\/plain/],
        [{ method: 'POST', path: '', body: '{"moods":["calm"]}' }, 415, /no Content-Type/],
        [{ method: 'POST', path: '', body: '{}', chunked: true }, 415, /no Content-Type/],
        [{ method: 'POST', path: '', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'moods=calm' }, 415, /x-www-form-urlencoded/],
        [{ method: 'POST', path: '', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array([1, 2, 3]) }, 415, /octet-stream/],
        [{ method: 'POST', path: '', headers: { 'content-type': 'application/json' }, body: '{"mood":["calm"],"extra":1}' }, 400, /unknown fields "mood", "extra"/],
        [{ method: 'POST', path: '', headers: { 'content-type': 'application/json' }, body: '{"force":"yes"}' }, 400, /force/],
        [{ method: 'POST', path: '', headers: { 'content-type': 'application/json' }, body: '{"moods":"calm"}' }, 400, /moods must be a non-empty array/],
        [{ method: 'POST', path: '', headers: { 'content-type': 'application/json' }, body: '{"moods":[]}' }, 400, /moods must be a non-empty array/],
        [{ method: 'POST', path: '?moods=calm', headers: {} }, 400, /unknown query parameter "moods"/],
      ];
      if (!hostParsers) {
        // What a host's own JSON parser refuses before the router sees it (with the host's error handler).
        refused.push(
          [{ method: 'POST', path: '', headers: { 'content-type': 'application/json' }, body: '{"moods": [' }, 400, /malformed JSON/],
          [{ method: 'POST', path: '', headers: { 'content-type': 'application/json; charset=iso-8859-1' }, body: '{}' }, 415, /UTF-8/],
          [{ method: 'POST', path: '', headers: { 'content-type': 'application/json' }, body: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) }, 400, /not valid UTF-8/],
        );
      }
      for (const [request, status, message] of refused) {
        const res = await http.send({ ...request, path: `${PREFIX}/cache/warm-popular-moods${request.path}`, headers: { ...AUTH, ...request.headers } });
        expect(expectJsonError(res, status).error, JSON.stringify(request)).toMatch(message);
      }
      expect(calls).toEqual([]);
      expect(await reprise.popularMoods.progress()).toBeNull();
      expect(await keys()).toEqual(entries);
    });

    it('POST /cache/warm-popular-moods: a mood that is not well-formed Unicode or has no letter or digit is 400 naming its index; no job starts', async () => {
      const { http, reprise, calls } = await host({ hostParsers });
      const moods: Array<[unknown[], number, RegExp]> = [
        [['calm', '\uD800'], 1, /moods\[1\] holds a lone UTF-16 surrogate at index \d+: it is not well-formed Unicode/],
        [['\uDC00 calm'], 0, /moods\[0\] holds a lone UTF-16 surrogate at index \d+: it is not well-formed Unicode/],
        [['calm', 'party', 'x\uD83Dy'], 2, /moods\[2\] holds a lone UTF-16 surrogate at index \d+: it is not well-formed Unicode/],
        [['\u0000'], 0, /moods\[0\] has no words/],
        [['calm', '\u0001\u0007\u001f'], 1, /moods\[1\] has no words/],
        [['\u200B\u200D\uFEFF'], 0, /moods\[0\] has no words/],
        [['\u0000\u200B \u00AD'], 0, /moods\[0\] has no words/],
        [['calm', '!!!'], 1, /moods\[1\] has no words/],
        [['   '], 0, /moods\[0\] has no words/],
        [['calm', 42], 1, /moods\[1\] must be a string/],
        [['calm', 'x'.repeat(201)], 1, /moods\[1\] is longer than 200/],
      ];
      for (const [list, index, message] of moods) {
        // JSON.stringify writes a lone surrogate as the escape \udXXX, which JSON.parse turns back into one.
        const body = JSON.stringify({ moods: list });
        const res = await http.send({ method: 'POST', path: `${PREFIX}/cache/warm-popular-moods`, headers: { ...AUTH, 'content-type': 'application/json' }, body });
        const answer = expectJsonError(res, 400);
        expect(answer.error, body).toMatch(message);
        expect(answer).toMatchObject({ field: 'moods', index });
      }
      expect(calls).toEqual([]);
      expect(await reprise.popularMoods.progress()).toBeNull();

      // A mood with a letter or digit anywhere in it, in any script, is fine, and reaches the job as given.
      const accepted = await http.send({
        method: 'POST', path: `${PREFIX}/cache/warm-popular-moods`, headers: { ...AUTH, 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ moods: ['Ｃａｌｍ 🌙', '夜', '٣'], force: true }),
      });
      expect(accepted.status, accepted.text).toBe(202);
      expect(JSON.parse(accepted.text).moods).toHaveLength(3);
      await expect.poll(async () => (await reprise.popularMoods.progress())?.status).toBe('succeeded');
      expect(calls).toHaveLength(3);
    });

    it('POST /cache/warm-popular-moods: an empty body, with or without a content type, warms the default moods', async () => {
      const { http, reprise, calls } = await host({ hostParsers });
      for (const headers of [{}, { 'content-type': 'text/plain' }, { 'content-type': 'application/json' }] as Array<Record<string, string>>) {
        const res = await http.send({ method: 'POST', path: `${PREFIX}/cache/warm-popular-moods`, headers: { ...AUTH, ...headers }, body: '' });
        expect(res.status, res.text).toBe(202);
        expect(JSON.parse(res.text)).toMatchObject({ moods: MOODS });
        await expect.poll(async () => (await reprise.popularMoods.progress())?.status).toBe('succeeded');
      }
      const bare = await http.send({ method: 'POST', path: `${PREFIX}/cache/warm-popular-moods`, headers: AUTH });
      expect(bare.status, bare.text).toBe(202);
      await expect.poll(async () => (await reprise.popularMoods.progress())?.status).toBe('succeeded');
      const json = await http.send({ method: 'POST', path: `${PREFIX}/cache/warm-popular-moods`, headers: { ...AUTH, 'content-type': 'application/json' }, body: '{"moods":["calm"],"force":true}' });
      expect(json.status, json.text).toBe(202);
      expect(JSON.parse(json.text)).toMatchObject({ moods: ['calm'] });
      await expect.poll(async () => (await reprise.popularMoods.progress())?.status).toBe('succeeded');
      expect(calls.filter((mood) => mood === 'calm').length).toBeGreaterThanOrEqual(2);
    });
  });

  it('answers JSON 404 for unknown paths and JSON 405 with Allow for another method on a known path', async () => {
    const { http, keys, entries } = await host();
    const allow: Record<string, string> = {
      '/cache/stats': 'GET, HEAD',
      '/cache/warm-popular-moods': 'GET, HEAD, POST',
      '/cache/invalidate': 'POST',
      '/id-registry/stats': 'GET, HEAD',
      '/profiling/metrics': 'GET, HEAD',
    };
    for (const [path, methods] of Object.entries(allow)) {
      for (const method of ['PUT', 'DELETE', 'PATCH', 'GET', 'POST']) {
        if (methods.split(', ').includes(method)) continue;
        const res = await http.send({ method, path: `${PREFIX}${path}`, headers: { ...AUTH, 'content-type': 'application/json' }, body: '{}' });
        const body = expectJsonError(res, 405);
        expect(res.headers.allow, `${method} ${path}`).toBe(methods);
        expect(body.error).toContain(method);
      }
      const options = await http.send({ method: 'OPTIONS', path: `${PREFIX}${path}`, headers: AUTH });
      expect([options.status, options.headers.allow]).toEqual([204, methods]);
    }
    const head = await http.send({ method: 'HEAD', path: `${PREFIX}/cache/invalidate`, headers: AUTH });
    expect([head.status, head.headers.allow, head.text]).toEqual([405, 'POST', '']);
    expect((await http.send({ method: 'HEAD', path: `${PREFIX}/cache/stats`, headers: AUTH })).status).toBe(200);

    for (const path of ['', '/', '/nope', '/cache', '/cache/', '/cache/stats/more', '/cache/invalidate/recommendations', '/%E0%A4%A', '/cache%2Fstats']) {
      for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
        // GET of the router's root is the operator page (test/middleware/operator-page.test.ts).
        if (method === 'GET' && (path === '' || path === '/')) continue;
        const res = await http.send({ method, path: `${PREFIX}${path}`, headers: AUTH });
        const body = expectJsonError(res, 404);
        expect(body.routes).toContain('POST /cache/invalidate');
      }
    }
    expect(await keys()).toEqual(entries);
  });

  it('checks the token before the method or the path, so nothing about them is told without it', async () => {
    const { http } = await host();
    expect(expectJsonError(await http.send({ method: 'PUT', path: `${PREFIX}/cache/stats` }), 401).error).toMatch(/Bearer/);
    expect((await http.send({ method: 'GET', path: `${PREFIX}/nope`, headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(403);
  });

  it('keeps 404 and 405 inside its mount path, whatever it is, and leaves the host\'s other routes alone', async () => {
    const mounts: Array<{ mount: string; base: string }> = [
      { mount: '/admin', base: '/admin' },
      { mount: '/tenants/:tenant/admin', base: '/tenants/t1/admin' },
      { mount: '/', base: '' },
    ];
    for (const { mount, base } of mounts) {
      const { http } = await host({ mount });
      expect((await http.send({ method: 'GET', path: `${base}/cache/stats`, headers: AUTH })).status).toBe(200);
      const wrong = await http.send({ method: 'DELETE', path: `${base}/cache/stats`, headers: AUTH });
      expect([wrong.status, wrong.headers.allow]).toEqual([405, 'GET, HEAD']);
      expectJsonError(await http.send({ method: 'GET', path: `${base}/cache/nope`, headers: AUTH }), 404);
      // The host's route registered before the router still answers.
      expect(JSON.parse((await http.send({ method: 'GET', path: '/api/health', headers: AUTH })).text)).toEqual({ ok: true });
      if (mount !== '/') {
        // Outside the mount path the host's own 404 answers, not the router's.
        const outside = await http.send({ method: 'PUT', path: '/elsewhere/cache/stats' });
        expect(outside.status).toBe(404);
        expect(outside.headers['content-type']).toMatch(/^text\/html/);
      }
    }

    // Nested: a host router holding reprise's router.
    const reprise = (await host()).reprise;
    const app = express();
    const outer = express.Router();
    outer.use('/system', reprise.router);
    outer.get('/own', (_req, res) => { res.json({ own: true }); });
    app.use('/api', outer);
    const nested = await listen(app);
    opened.push(nested);
    expect((await nested.send({ method: 'GET', path: '/api/system/cache/stats', headers: AUTH })).status).toBe(200);
    expect((await nested.send({ method: 'PUT', path: '/api/system/cache/stats', headers: AUTH })).headers.allow).toBe('GET, HEAD');
    expectJsonError(await nested.send({ method: 'GET', path: '/api/system/x', headers: AUTH }), 404);
    expect(JSON.parse((await nested.send({ method: 'GET', path: '/api/own' })).text)).toEqual({ own: true });
  });

  it('without any auth configured, GETs answer (404 and 405 included) and anything else is still 403', async () => {
    const reprise: Reprise = await createReprise({ warmSchedule: false, logger: recordingLogger(), env: {}, express });
    opened.push(reprise);
    const app = express();
    app.use(PREFIX, reprise.router);
    const http = await listen(app);
    opened.push(http);
    expect(expectJsonError(await http.send({ method: 'GET', path: `${PREFIX}/cache/invalidate` }), 405)).toMatchObject({ allowed: ['POST'] });
    expectJsonError(await http.send({ method: 'GET', path: `${PREFIX}/nope` }), 404);
    expect(expectJsonError(await http.send({ method: 'PUT', path: `${PREFIX}/cache/stats` }), 403).hint).toMatch(/REPRISE_ADMIN_TOKEN/);
  });
});
