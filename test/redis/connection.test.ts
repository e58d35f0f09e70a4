import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createCache } from '../../src/index.js';
import { parseRedisUrl, RedisUrlError } from '../../src/redis/redis-url.js';
import { redactCredentials, redactRedisUrl } from '../../src/redis/redact.js';
import { recordingLogger } from '../harness/logger.js';
import { useRedisServer } from '../harness/lifecycle.js';
import { hasRedisServer, pollUntil } from '../harness/redis-servers.js';

describe('parsing redisUrl', () => {
  it('reads password, user, db index and TLS from one URL', () => {
    expect(parseRedisUrl('redis://:s3cret@cache.internal:6380/2')).toMatchObject({
      mode: 'standalone', nodes: [{ host: 'cache.internal', port: 6380 }], password: 's3cret', db: 2, tls: false,
      redacted: 'redis://:***@cache.internal:6380/2',
    });
    expect(parseRedisUrl('rediss://app:p%40ss@secure:6390')).toMatchObject({ username: 'app', password: 'p@ss', tls: true, db: 0 });
    expect(parseRedisUrl('redis://localhost')).toMatchObject({ nodes: [{ host: 'localhost', port: 6379 }] });
  });

  it('reads a comma-separated list as a Cluster, with or without the scheme on later nodes', () => {
    const full = parseRedisUrl('redis://:pw@n1:7000,redis://:pw@n2:7001');
    const short = parseRedisUrl('redis://:pw@n1:7000,n2:7001,n3:7002');
    expect(full).toMatchObject({ mode: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }], password: 'pw' });
    expect(short.nodes).toEqual([{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }, { host: 'n3', port: 7002 }]);
    expect(short.redacted).not.toContain('pw');
  });

  it('rejects bad URLs with errors that never show the password', () => {
    const attempts = [
      'http://:topsecret@host:1', 'redis://:topsecret@n1:1/3,n2:2', 'redis://:topsecret@host:1/x', 'rediss://:topsecret@a:1,redis://b:2',
      // Passwords holding the characters a pattern would stop at.
      'redis://:top/secret@host:1', 'redis://:top secret@host:1/x', 'redis://:top@secret@host:notaport',
    ];
    for (const url of attempts) {
      let message = '';
      try {
        parseRedisUrl(url);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, url).not.toBe('');
      expect(message).not.toMatch(/top.?secret|secret@/);
    }
  });

  it('never keeps a password in its redacted form, whatever characters it holds', () => {
    for (const password of ['p@ss', 'p/ss', 'p ss', 'p,ss', 'p%40ss']) {
      const parsed = parseRedisUrl(`redis://app:${encodeURIComponent(password)}@cache:6380/1`);
      expect(parsed.password).toBe(password);
      expect(parsed.redacted).toBe('redis://app:***@cache:6380/1');
    }
    expect(parseRedisUrl('redis://:raw@pass@cache:6380').redacted).not.toContain('raw');
  });

  it('reads a redis+sentinel:// URL: the sentinels, the master name and the database', () => {
    expect(parseRedisUrl('redis+sentinel://:s3cret@s1:26380,s2,s3:26381/mymaster/4')).toEqual({
      mode: 'sentinel',
      nodes: [{ host: 's1', port: 26380 }, { host: 's2', port: 26379 }, { host: 's3', port: 26381 }],
      masterName: 'mymaster',
      password: 's3cret',
      db: 4,
      tls: false,
      redacted: 'redis+sentinel://:***@s1:26380,s2:26379,s3:26381/mymaster/4',
    });
    expect(parseRedisUrl('rediss+sentinel://app:pw@[::1]:26379/cache%20main')).toMatchObject({
      mode: 'sentinel', nodes: [{ host: '::1', port: 26379 }], masterName: 'cache main', username: 'app', db: 0, tls: true,
      redacted: 'rediss+sentinel://app:***@[::1]:26379/cache%20main',
    });
    expect(parseRedisUrl('REDIS+SENTINEL://s1/m')).toMatchObject({ mode: 'sentinel', masterName: 'm', tls: false });
  });

  it('rejects a Sentinel URL without a master name, with it in the wrong place, or with a bad database', () => {
    const attempts: Array<[string, RegExp]> = [
      ['redis+sentinel://:topsecret@s1:26379', /names no master/],
      ['redis+sentinel://:topsecret@s1:26379/', /names no master/],
      ['redis+sentinel://:topsecret@s1:26379/m/1/2', /names no master \(or too much after it\)/],
      ['redis+sentinel://:topsecret@s1:26379/m,s2:26379', /after the last sentinel/],
      ['redis+sentinel://:topsecret@s1:26379,s2:26379/m/x', /database index/],
      ['redis+sentinel://:topsecret@s1:26379,rediss://s2:26379/m', /mixed/],
      ['redis+sentinel://:top%zzsecret@s1:26379/m', /malformed %-escape/],
    ];
    for (const [url, expected] of attempts) {
      const error = (() => {
        try {
          parseRedisUrl(url);
        } catch (caught) {
          return caught as Error;
        }
        return null;
      })();
      expect(error, url).toBeInstanceOf(RedisUrlError);
      expect(error!.message, url).toMatch(expected);
      expect(error!.message).not.toMatch(/topsecret|top%zz/);
    }
  });

  it('redacts credentials in any text', () => {
    expect(redactRedisUrl('connect redis://user:hunter2@h:1 and rediss://:x@h2:2 failed')).toBe('connect redis://user:***@h:1 and rediss://:***@h2:2 failed');
    expect(redactRedisUrl('connect redis://:hun/ter@2@h:1 failed')).toBe('connect redis://:***@h:1 failed');
    expect(redactRedisUrl('rediss+sentinel://u:hunter2@s1:26379,s2:26379/m')).toBe('rediss+sentinel://u:***@s1:26379,s2:26379/m');
  });

  it('redacts tokens in upstream texts shown to operators: Authorization values and query-string values too', () => {
    expect(redactCredentials('GET https://api.example/v1/track?ids=1&access_token=abc123 failed: header Bearer xyz789 refused'))
      .toBe('GET https://api.example/v1/track?ids=***&access_token=*** failed: header Bearer *** refused');
    expect(redactCredentials('via http://u:pw@proxy:8080')).toBe('via http://u:***@proxy:8080');
  });
});

describe.skipIf(!hasRedisServer)('connecting to a password-protected Redis', () => {
  const password = 'correct-horse-battery';
  const server = useRedisServer({ password });

  it('authenticates with the URL password and never shows it in stats or logs', async () => {
    const logger = recordingLogger();
    const cache = await createCache({ redisUrl: `redis://:${password}@127.0.0.1:${server().port}/3`, logger });
    await cache.set('recommendations', 'k', 1);
    expect(server().cli('-n', '3', 'EXISTS', 'reprise:recommendations:k')).toBe('1');
    expect(JSON.stringify(cache.stats())).not.toContain(password);
    await cache.close();
    expect(logger.lines.join('\n')).not.toContain(password);
    expect(logger.lines.join('\n')).toContain(':***@');
  });

  it('keeps a wrong password out of logs and errors, and serves from memory', async () => {
    const wrong = 'wrong-password-value';
    const logger = recordingLogger();
    const cache = await createCache({
      redisUrl: `redis://:${wrong}@127.0.0.1:${server().port}`,
      logger,
      redisConnectTimeoutMs: 300,
    });
    await cache.set('recommendations', 'k', 'memory');
    expect(await cache.get('recommendations', 'k')).toBe('memory');
    expect(cache.stats().cacheType).toBe('memory');
    await pollUntil(() => logger.lines.some((line) => /WRONGPASS|auth/i.test(line)), 'the auth failure to be logged');
    await cache.close();
    expect(logger.lines.join('\n')).not.toContain(wrong);
  });
});

describe.skipIf(!hasRedisServer)('an injected ioredis client', () => {
  const server = useRedisServer();

  it('is used as given and left open by close()', async () => {
    const client = new Redis({ host: '127.0.0.1', port: server().port });
    const cache = await createCache({ redis: client, logger: recordingLogger() });
    await cache.set('top_artists', 'a', ['x']);
    expect(await client.get('reprise:top_artists:a')).toMatch(/^r1:/);
    await cache.close();
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
    await client.quit();
  });

  it('refuses both a client and a URL', async () => {
    const client = new Redis({ host: '127.0.0.1', port: server().port, lazyConnect: true });
    await expect(createCache({ redis: client, redisUrl: server().url })).rejects.toThrow(/either/);
    client.disconnect();
  });
});

describe('TLS and Sentinel options', () => {
  const quiet = { logger: recordingLogger() };
  const caFile = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reprise-ca-'));
    const file = path.join(dir, 'ca.pem');
    writeFileSync(file, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    return { file, dir };
  };

  it('refuses a CA file that cannot be read or holds no certificate, naming the option', async () => {
    const missing = await createCache({ ...quiet, redisUrl: 'rediss://h:6380', redisTlsCaFile: '/nonexistent/ca.pem' }).catch((error: unknown) => error);
    expect(missing).toMatchObject({ name: 'RepriseOptionsError', code: 'invalid_value', option: 'redisTlsCaFile' });
    expect((missing as Error).message).toMatch(/cannot read the CA file \/nonexistent\/ca.pem \(ENOENT\)/);
    const { dir } = caFile();
    const notPem = path.join(dir, 'notes.txt');
    writeFileSync(notPem, 'not a certificate');
    await expect(createCache({ ...quiet, env: { REDIS_URL: 'rediss://h:6380', REDIS_TLS_CA_FILE: notPem } }))
      .rejects.toMatchObject({ code: 'invalid_value', option: 'redisTlsCaFile', message: expect.stringMatching(/holds no PEM certificate/) });
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a CA file without TLS, a sentinel password or user without sentinels, a sentinel user without its password, and any with a client of the host', async () => {
    const { file, dir } = caFile();
    await expect(createCache({ ...quiet, redisUrl: 'redis://h:6379', redisTlsCaFile: file }))
      .rejects.toMatchObject({ code: 'conflicting_options', option: 'redisTlsCaFile' });
    await expect(createCache({ ...quiet, env: { REDIS_URL: 'redis+sentinel://s1/m', REDIS_TLS_CA_FILE: file } }))
      .rejects.toMatchObject({ code: 'conflicting_options', option: 'redisTlsCaFile', message: expect.stringMatching(/rediss\+sentinel:\/\//) });
    await expect(createCache({ ...quiet, redisUrl: 'redis://h:6379', redisSentinelPassword: 'topsecret' }))
      .rejects.toMatchObject({ code: 'conflicting_options', option: 'redisSentinelPassword' });
    await expect(createCache({ ...quiet, env: { REDIS_URL: 'redis://h:6379', REDIS_SENTINEL_USERNAME: 'watcher', REDIS_SENTINEL_PASSWORD: 'pw' } }))
      .rejects.toMatchObject({ code: 'conflicting_options', option: 'redisSentinelPassword' });
    // A sentinel user without its password would be sent nothing to log in with.
    await expect(createCache({ ...quiet, redisUrl: 'redis+sentinel://s1/m', redisSentinelUsername: 'watcher' }))
      .rejects.toMatchObject({ code: 'conflicting_options', option: 'redisSentinelUsername', message: expect.stringMatching(/needs redisSentinelPassword/) });
    await expect(createCache({ ...quiet, redisUrl: 'redis://h:6379', redisSentinelUsername: 'watcher' }))
      .rejects.toMatchObject({ code: 'conflicting_options', option: 'redisSentinelUsername' });
    const client = new Redis({ lazyConnect: true });
    await expect(createCache({ ...quiet, redis: client, redisTlsCaFile: file })).rejects.toMatchObject({ code: 'conflicting_options', option: 'redisTlsCaFile' });
    await expect(createCache({ ...quiet, redisTlsCaFile: 42 } as never)).rejects.toMatchObject({ code: 'invalid_type', option: 'redisTlsCaFile' });
    client.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });
});
