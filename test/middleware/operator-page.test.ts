/**
 * The operator page as the router serves it, on Express 5 and 4 and under several mount paths: static files that
 * need no token and hold no data, a strict Content-Security-Policy on each, the trailing-slash redirect that makes the
 * page's relative addresses work, and the JSON routes still behind auth. What the page does is tested in Chromium
 * (test/operator/browser.test.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createReprise } from '../../src/reprise.js';
import { OPERATOR_DIR } from '../../middleware/operator-page.js';
import { EXPRESS_VERSIONS } from '../harness/express-versions.js';
import { closeAfterEachTest } from '../harness/lifecycle.js';
import { recordingLogger } from '../harness/logger.js';
import { listen, type Listening, type RawResponse } from './raw-http.js';

const TOKEN = 'operator-page-test-token-0123';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const PREFIX = '/api/agents/system';
const FILES = readdirSync(OPERATOR_DIR).sort();

function expectPageHeaders(res: RawResponse, what: string): void {
  expect(res.status, what).toBe(200);
  const csp = String(res.headers['content-security-policy']);
  const directives = new Map(csp.split(';').map((directive) => {
    const [name = '', ...values] = directive.trim().split(/\s+/);
    return [name, values.join(' ')];
  }));
  expect(directives.get('default-src'), what).toBe("'none'");
  expect(directives.get('script-src'), what).toBe("'self'");
  expect(directives.get('style-src'), what).toBe("'self'");
  expect(directives.get('connect-src'), what).toBe("'self'");
  expect(directives.get('frame-ancestors'), what).toBe("'none'");
  expect(directives.get('base-uri'), what).toBe("'none'");
  expect(csp, what).not.toMatch(/unsafe-|https?:|\*|data:/);
  expect(res.headers['x-content-type-options'], what).toBe('nosniff');
  expect(res.headers['x-frame-options'], what).toBe('DENY');
}

describe.each(EXPRESS_VERSIONS)('the operator page on $name', ({ express }) => {
  const opened = closeAfterEachTest<{ close(): unknown }>();

  async function host(mount = PREFIX): Promise<Listening> {
    const reprise = await createReprise({ adminToken: TOKEN, warmSchedule: false, logger: recordingLogger(), env: {}, express });
    opened.push(reprise);
    const app = express();
    app.use(mount, reprise.router);
    const http = await listen(app);
    opened.push(http);
    return http;
  }

  it('serves the page and every file it loads without a token, each exactly as shipped and with the strict headers', async () => {
    const http = await host();
    const page = await http.send({ method: 'GET', path: `${PREFIX}/` });
    expectPageHeaders(page, 'GET /');
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toBe(readFileSync(join(OPERATOR_DIR, 'index.html'), 'utf8'));

    for (const file of FILES) {
      const res = await http.send({ method: 'GET', path: `${PREFIX}/${file}` });
      expectPageHeaders(res, file);
      // Static: the bytes on disk, nothing of the server's state in them.
      expect(res.text, file).toBe(readFileSync(join(OPERATOR_DIR, file), 'utf8'));
      const type = { '.js': /^(text|application)\/javascript/, '.css': /^text\/css/, '.svg': /^image\/svg\+xml/, '.html': /^text\/html/ }[file.slice(file.lastIndexOf('.'))];
      expect(res.headers['content-type'], file).toMatch(type!);
    }
    const head = await http.send({ method: 'HEAD', path: `${PREFIX}/main.js` });
    expect([head.status, head.text]).toEqual([200, '']);
  });

  it('ships no inline script or style, no third-party origin, and every file it references', () => {
    const html = readFileSync(join(OPERATOR_DIR, 'index.html'), 'utf8');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/\sstyle=|<style|\son[a-z]+=/i);
    const references = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(references.length).toBeGreaterThan(2);
    for (const reference of references) expect(FILES, reference).toContain(reference);
    for (const file of FILES.filter((name) => name.endsWith('.js'))) {
      const source = readFileSync(join(OPERATOR_DIR, file), 'utf8');
      for (const [, imported] of source.matchAll(/from '\.\/([^']+)'/g)) expect(FILES, `${file} imports ${imported}`).toContain(imported);
      expect(source, file).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    }
    for (const file of FILES) expect(readFileSync(join(OPERATOR_DIR, file), 'utf8'), file).not.toMatch(/(?:https?:)?\/\/(?!www\.w3\.org\/2000\/svg)[a-z0-9.-]+\.[a-z]{2,}/i);
  });

  it('sends <mount> to <mount>/ under any mount path, so the page\'s relative addresses stay under it', async () => {
    for (const { mount, base } of [
      { mount: PREFIX, base: PREFIX },
      { mount: '/tenants/:tenant/admin', base: '/tenants/t1/admin' },
      { mount: '/', base: '' },
    ]) {
      const http = await host(mount);
      if (base !== '') {
        const bare = await http.send({ method: 'GET', path: `${base}?tab=1` });
        expect(bare.status, mount).toBe(301);
        expect(new URL(String(bare.headers.location), `http://host${base}?tab=1`).href).toBe(`http://host${base}/?tab=1`);
      }
      const page = await http.send({ method: 'GET', path: `${base}/` });
      expectPageHeaders(page, mount);
      // The page's requests resolve under the mount path: main.js there, and the stats route behind the token.
      expect((await http.send({ method: 'GET', path: `${base}/main.js` })).status).toBe(200);
      expect((await http.send({ method: 'GET', path: `${base}/cache/stats` })).status).toBe(401);
      expect((await http.send({ method: 'GET', path: `${base}/cache/stats`, headers: AUTH })).status).toBe(200);
    }
  });

  it('leaves everything else to the admin routes: auth first, then JSON 404 and 405', async () => {
    const http = await host();
    for (const path of ['/nope.js', '/../package.json', '/%2e%2e/package.json', '/.hidden', '/cache/stats']) {
      const res = await http.send({ method: 'GET', path: `${PREFIX}${path}` });
      expect(res.status, path).toBe(401);
      expect(res.headers['content-type'], path).toMatch(/^application\/json/);
    }
    expect((await http.send({ method: 'GET', path: `${PREFIX}/nope.js`, headers: AUTH })).status).toBe(404);
    for (const method of ['POST', 'PUT', 'DELETE']) {
      expect((await http.send({ method, path: `${PREFIX}/` })).status, method).toBe(401);
      const res = await http.send({ method, path: `${PREFIX}/main.js`, headers: AUTH });
      expect([res.status, res.headers['content-type']], method).toEqual([404, expect.stringMatching(/^application\/json/)]);
    }
    expect((await http.send({ method: 'GET', path: `${PREFIX}/cache/stats`, headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(403);
  });
});
