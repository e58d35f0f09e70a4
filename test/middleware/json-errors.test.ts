/** The JSON error handler and the metrics handler used on their own in a host app, on Express 5 and 4. */
import { Registry, Counter } from 'prom-client';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { HttpError, jsonErrorHandler } from '../../middleware/json-errors.js';
import { metricsHandler } from '../../middleware/metrics-handler.js';
import { assertCategory } from '../../src/cache/categories.js';
import { encodeKey } from '../../src/cache/keys.js';
import { RepriseInputError, RepriseOptionsError } from '../../src/errors.js';
import { EXPRESS_VERSIONS } from '../harness/express-versions.js';

describe.each(EXPRESS_VERSIONS)('standalone middleware on $name', ({ express }) => {
  function host(logged: string[]) {
    const app = express();
    app.post('/echo', express.json({ limit: '32b' }), (req, res) => { res.json(req.body); });
    app.get('/teapot', () => { throw new HttpError(418, 'short and stout', { spout: true }); });
    app.get('/category', () => { assertCategory('nope'); });
    app.get('/input', () => { throw new RepriseInputError('moods[2] has no words', { details: { field: 'moods', index: 2 } }); });
    app.get('/key', () => { encodeKey([]); });
    app.get('/misconfigured', () => { throw new RepriseOptionsError('out_of_range', 'memory.maxEntries', 'memory.maxEntries must be a positive whole number'); });
    app.get('/boom', () => { throw new Error('redis://:hunter2@10.0.0.1 exploded'); });
    app.use(jsonErrorHandler({ error: (line: string) => logged.push(line) }));
    return app;
  }

  it('maps body-parser errors, HttpError and unknown categories to JSON with their status', async () => {
    const app = host([]);
    expect((await request(app).post('/echo').send({ a: 1 })).body).toEqual({ a: 1 });
    const big = await request(app).post('/echo').send({ text: 'x'.repeat(100) });
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ error: 'request body too large', limitBytes: 32 });
    const malformed = await request(app).post('/echo').set('content-type', 'application/json').send('{"a":');
    expect([malformed.status, malformed.body]).toEqual([400, { error: 'malformed JSON body' }]);
    expect((await request(app).get('/teapot')).body).toEqual({ error: 'short and stout', spout: true });
    const category = await request(app).get('/category');
    expect(category.status).toBe(400);
    expect(category.body.validCategories).toContain('recommendations');
  });

  it('answers any RepriseInputError 400 with its details, and a wrong option (the host\'s mistake) 500', async () => {
    const logged: string[] = [];
    const app = host(logged);
    const input = await request(app).get('/input');
    expect([input.status, input.body]).toEqual([400, { error: 'moods[2] has no words', field: 'moods', index: 2 }]);
    const key = await request(app).get('/key');
    expect([key.status, key.body.error]).toEqual([400, 'a cache key is a string, a number or a non-empty array of them']);
    const misconfigured = await request(app).get('/misconfigured');
    expect([misconfigured.status, misconfigured.body]).toEqual([500, { error: 'internal error' }]);
    expect(logged.join('\n')).toContain('memory.maxEntries');
  });

  it('answers anything else with a bare 500, logging the cause (credentials redacted) but never sending it', async () => {
    const logged: string[] = [];
    const res = await request(host(logged)).get('/boom');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'internal error' });
    expect(logged.join('\n')).toContain('exploded');
    expect(logged.join('\n')).not.toContain('hunter2');
  });

  it('serves a registry in the Prometheus text format', async () => {
    const registry = new Registry();
    new Counter({ name: 'host_things_total', help: 'things', registers: [registry] }).inc(3);
    const app = express();
    app.get('/metrics', metricsHandler(registry));
    const res = await request(app).get('/metrics');
    expect(res.headers['content-type']).toMatch(/^text\/plain;.*version=0\.0\.4/);
    expect(res.text).toContain('host_things_total 3');
  });
});
