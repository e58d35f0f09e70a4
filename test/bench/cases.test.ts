/**
 * The bench's contenders really do what their rows claim, checked by counts from a real redis-server: each runs in
 * its own process, L1 hits send nothing to Redis, Redis hits send one GET each, and only coalescing libraries call
 * the factory once per storm. (The bench runs on a standalone server; the registry section covers the Cluster.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaseProcess } from '../../bench/lib/child.js';
import type { CaseResult } from '../../bench/lib/protocol.js';
import { hasRedisServer, startRedisServer, type RedisServer } from '../harness/redis-servers.js';

describe.skipIf(!hasRedisServer)('bench contenders against a real Redis', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.destroy();
  });

  async function run(caseFile: string, variant: string, rounds = 2): Promise<{ samples: number[]; result: CaseResult }> {
    const child = new CaseProcess(`${caseFile}/${variant}`, caseFile, {
      variant,
      redisUrl: server.url,
      keyPrefix: `test-${caseFile}-${variant}:`,
      warmupMs: 20,
      roundMs: 20,
    });
    try {
      await child.ready();
      await child.warmUp();
      const samples: number[] = [];
      for (let round = 0; round < rounds; round++) samples.push(await child.round());
      return { samples, result: await child.finish() };
    } finally {
      child.kill();
    }
  }

  it('reprise L1 hits: every read answered from memory, no command reaches Redis', async () => {
    const { samples, result } = await run('reprise', 'l1-get');
    expect(samples).toHaveLength(2);
    expect(samples.every((sample) => sample > 0)).toBe(true);
    expect(result.redisCommandsPerOp).toEqual({});
    expect(result.evidence).toMatchObject({ memoryMisses: 0, redisHits: 0 });
    expect(Number(result.evidence.memoryHits)).toBeGreaterThan(0);
  });

  it('reprise Redis hits: every read misses memory and costs exactly one GET', async () => {
    const { result } = await run('reprise', 'redis-get');
    expect(Object.keys(result.redisCommandsPerOp)).toEqual(['get']);
    expect(result.redisCommandsPerOp.get).toBe(1);
    const count = (name: string) => Number(result.evidence[name]);
    const [memoryHits, memoryMisses, redisHits, redisMisses, redisTimeouts] = ['memoryHits', 'memoryMisses', 'redisHits', 'redisMisses', 'redisTimeouts'].map(count) as [number, number, number, number, number];
    expect(memoryHits).toBe(0);
    expect(redisHits + redisMisses).toBe(memoryMisses);
    // Every key exists: a Redis miss can only be a GET that outran the 50 ms deadline on a busy machine.
    expect(redisMisses).toBeLessThanOrEqual(redisTimeouts);
    expect(redisHits).toBeGreaterThan(0);
  });

  it('the ioredis baseline sends one GET per read and every read hits', async () => {
    const { result } = await run('bare', 'ioredis-get');
    expect(result.redisCommandsPerOp).toEqual({ get: 1 });
    expect(result.evidence.misses).toBe(0);
  });

  it('the ioredis baseline reads what reprise stores for the bench value, and its JSON.parse reference parses it', async () => {
    const { result } = await run('bare', 'ioredis-get-parse');
    expect(result.redisCommandsPerOp).toEqual({ get: 1 });
    expect(result.evidence.misses).toBe(0);
    expect(result.setup).toContain('JSON.parse');
    const [stored] = server.cli('KEYS', 'test-bare-ioredis-get-parse:*').split('\n');
    expect(server.cli('GET', stored!)).toMatch(/^r1:\d+:\{"json":/);
  });

  it('storms: reprise calls the factory once per 1000 callers, the hand-written cache-aside 1000 times', async () => {
    const reprise = await run('reprise', 'get-or-set', 1);
    expect(reprise.result.evidence).toMatchObject({ mostFactoryCallsInOneStorm: 1, factoryCallsPerStorm: 1, wrongAnswers: 0 });
    const byHand = await run('bare', 'by-hand-cache-aside', 1);
    expect(byHand.result.evidence).toMatchObject({ mostFactoryCallsInOneStorm: 1_000, wrongAnswers: 0 });
    expect(byHand.result.redisCommandsPerOp).toEqual({ get: 1, set: 1 });
  });

  it('bentocache and cache-manager L1 hits send nothing to Redis either', async () => {
    for (const caseFile of ['bentocache', 'cache-manager']) {
      const { result } = await run(caseFile, 'l1-get');
      expect(result.redisCommandsPerOp).toEqual({});
    }
  });

  it('a contender that cannot start reports why instead of hanging the bench', async () => {
    await expect(run('reprise', 'no-such-variant')).rejects.toThrow(/unknown variant no-such-variant/);
  });
});
