import type { RequestHandler } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { adminAuth, type AdminAuthOptions } from '../../middleware/admin-auth.js';
import { EXPRESS_VERSIONS } from '../harness/express-versions.js';

const TOKEN = 'a-long-enough-admin-token';

describe.each(EXPRESS_VERSIONS)('admin authentication on $name', ({ express }) => {
  function app(options: AdminAuthOptions) {
    const host = express();
    host.use('/admin', adminAuth(options));
    host.get('/admin/thing', (_req, res) => { res.json({ read: true }); });
    host.post('/admin/thing', (_req, res) => { res.json({ changed: true }); });
    return host;
  }

  it('with a token: none is 401, a wrong one 403, the right one passes, for reads and writes', async () => {
    const host = app({ token: TOKEN });
    const none = await request(host).get('/admin/thing');
    expect(none.status).toBe(401);
    expect(none.body.error).toMatch(/Bearer/);
    expect(none.headers['www-authenticate']).toContain('Bearer');
    expect((await request(host).post('/admin/thing').set('Authorization', 'Bearer wrong-token-of-any-length')).status).toBe(403);
    expect((await request(host).post('/admin/thing').set('Authorization', `Bearer ${TOKEN}x`)).status).toBe(403);
    expect((await request(host).post('/admin/thing').set('Authorization', `Basic ${TOKEN}`)).status).toBe(401);
    expect((await request(host).get('/admin/thing').set('Authorization', `Bearer ${TOKEN}`)).body).toEqual({ read: true });
    expect((await request(host).post('/admin/thing').set('Authorization', `bearer ${TOKEN}`)).body).toEqual({ changed: true });
  });

  it('with neither: reads pass, writes are refused with 403 saying how to configure a token', async () => {
    const host = app({});
    expect((await request(host).get('/admin/thing')).status).toBe(200);
    const write = await request(host).post('/admin/thing');
    expect(write.status).toBe(403);
    expect(write.body.hint).toMatch(/REPRISE_ADMIN_TOKEN/);
  });

  it("with the host's middleware: it decides, for reads and writes", async () => {
    const onlyAlice: RequestHandler = (req, res, next) => {
      if (req.headers['x-user'] === 'alice') next();
      else res.status(403).json({ error: 'not alice' });
    };
    const host = app({ authenticate: onlyAlice });
    expect((await request(host).get('/admin/thing')).status).toBe(403);
    expect((await request(host).post('/admin/thing').set('x-user', 'alice')).body).toEqual({ changed: true });
  });

  it('with both: the token is checked first, then the host decides', async () => {
    const denyAll: RequestHandler = (_req, res) => { res.status(403).json({ error: 'host says no' }); };
    const host = app({ token: TOKEN, authenticate: denyAll });
    expect((await request(host).get('/admin/thing')).status).toBe(401);
    const denied = await request(host).get('/admin/thing').set('Authorization', `Bearer ${TOKEN}`);
    expect(denied.body.error).toBe('host says no');
  });
});

describe('admin authentication options', () => {
  it('refuses a short token or a middleware that is not a function', () => {
    expect(() => adminAuth({ token: 'short' })).toThrow(/at least 16/);
    expect(() => adminAuth({ authenticate: 'yes' as unknown as RequestHandler })).toThrow(/middleware/);
  });
});
