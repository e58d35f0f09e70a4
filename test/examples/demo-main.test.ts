/**
 * `npm start` as a newcomer runs it: the demo's entry point in its own process. It must print its URL, the simulator
 * notice and an admin token, and, with OTEL_EXPORTER_OTLP_ENDPOINT set, export traces in which reprise's spans sit
 * inside the request. The OTLP receiver here is a plain local HTTP server that keeps what it is sent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil } from '../harness/redis-servers.js';

const running: ChildProcess[] = [];
const receivers: http.Server[] = [];
afterEach(async () => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(receivers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** Starts `npm start`'s entry point and resolves with its output so far once it has printed its URL. */
async function startMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo/main.ts'], {
    env: { ...process.env, PORT: '0', REDIS_URL: '', RECCOBEATS_BASE_URL: '', REPRISE_ADMIN_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  await pollUntil(() => /listening on http:\/\/\S+/.test(output), 'the demo to print its URL', () => child.exitCode !== null, 30_000);
  const url = /listening on (http:\/\/\S+)/.exec(output)![1]!;
  return { child, url, output: () => output };
}

async function otlpReceiver() {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces') bodies.push(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  receivers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies };
}

describe('npm start', () => {
  it('prints its URL, says it talks to the simulator and in memory, and prints an admin token that works', async () => {
    const demo = await startMain({});
    expect(demo.output()).toMatch(/SIMULATOR/);
    expect(demo.output()).toMatch(/memory only/);
    const token = /admin token: (\S+)/.exec(demo.output())![1]!;
    const stats = await request(demo.url).get('/api/agents/system/cache/stats').set('Authorization', `Bearer ${token}`);
    expect(stats.status).toBe(200);
    expect(stats.body.cacheType).toBe('memory');
  });

  it('says which port is taken and exits 1 when it cannot listen', async () => {
    const taken = await otlpReceiver();
    const port = new URL(taken.url).port;
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo/main.ts'], {
      env: { ...process.env, PORT: port, REDIS_URL: '', RECCOBEATS_BASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.push(child);
    let output = '';
    child.stderr!.on('data', (chunk) => (output += chunk));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(output).toContain(`port ${port} is taken`);
  });

  it('exports traces over OTLP in which reprise spans are children of the request', async () => {
    const collector = await otlpReceiver();
    const demo = await startMain({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_BSP_SCHEDULE_DELAY: '100' });
    expect(demo.output()).toMatch(/OTLP to/);
    const res = await request(demo.url).post('/api/playlists').send({ userId: 'otel', moodPrompt: 'late night coding' });
    expect(res.status).toBe(200);

    type OtlpSpan = { name: string; traceId: string; spanId: string; parentSpanId?: string };
    const spans = (): OtlpSpan[] => collector.bodies.flatMap((body) =>
      (JSON.parse(body).resourceSpans ?? []).flatMap((r: { scopeSpans: Array<{ spans: OtlpSpan[] }> }) => r.scopeSpans.flatMap((s) => s.spans)));
    const isRoot = (span: OtlpSpan) => !span.parentSpanId;
    // The request's own span ends after its answer is sent, so it may come in a later batch than its children.
    await pollUntil(() => {
      const convert = spans().find((span) => span.name === 'reccobeats.convert');
      return convert !== undefined && spans().some((span) => span.traceId === convert.traceId && isRoot(span));
    }, 'the collector to receive the whole request trace');
    const all = spans();
    const convert = all.find((span) => span.name === 'reccobeats.convert')!;
    const trace = all.filter((span) => span.traceId === convert.traceId);
    expect(trace.filter(isRoot).map((span) => span.name)).toEqual([expect.stringMatching(/^POST/)]);
    expect(trace.map((span) => span.name)).toEqual(
      expect.arrayContaining(['cache.get_or_set', 'reccobeats.convert', 'registry.bulk_lookup', 'GET /v1/track']),
    );
    // The simulator's side of each ReccoBeats call joined the same trace (traceparent sent by the client).
    expect(all.filter(isRoot)).toHaveLength(1);
  });
});
