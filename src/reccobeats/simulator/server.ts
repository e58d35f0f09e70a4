/**
 * A local HTTP server that behaves like the ReccoBeats web API, for tests, the demo and benchmarks. It says what it
 * is everywhere: an `x-reccobeats-simulator: true` header on every answer, a notice at `/`, and a warning when it
 * starts. Latency, error statuses, 429 with Retry-After and hangs are injected on demand; every request is counted.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { consoleLogger, type Logger } from '../../logger.js';
import { SIMULATOR_HEADER } from '../http-attempt.js';
import { SimulatedCatalog, type SimulatedCatalogOptions } from './catalog.js';
import { RequestCounters } from './counters.js';
import { FaultPlan, type FailNextOptions } from './faults.js';
import { knownKeys, optionNames, RepriseOptionsError } from '../../validate.js';
import { routeRequest, SIMULATOR_NOTICE, type Answer, type SimulatorEndpoint, type SimulatorQuirks } from './routes.js';

export type Latency = number | { minMs: number; maxMs: number };

export interface ReccobeatsSimulatorOptions extends SimulatedCatalogOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Delay before each answer (default 0). */
  latency?: Latency;
  quirks?: SimulatorQuirks;
  logger?: Logger;
}

const SIMULATOR_OPTIONS = optionNames<ReccobeatsSimulatorOptions>({
  port: true, host: true, latency: true, quirks: true, logger: true, unknownFraction: true, seed: true, browsableTracks: true,
});

const CATALOG_OPTIONS = optionNames<SimulatedCatalogOptions>({ unknownFraction: true, seed: true, browsableTracks: true });

export interface ReccobeatsSimulator {
  /** Base URL to give the client, e.g. http://127.0.0.1:41234 */
  url: string;
  /** The catalog answering now (switchCatalog replaces it). */
  readonly catalog: SimulatedCatalog;
  /**
   * Answers from another catalog from the next request on, as when ReccoBeats changes its catalogue or API: options
   * not given keep their current value, so `switchCatalog({ unknownFraction: 0.9 })` drops most tracks, and
   * `switchCatalog({ seed: 'next' })` gives every track a new ReccoBeats ID. Returns the new catalog.
   */
  switchCatalog(options: SimulatedCatalogOptions): SimulatedCatalog;
  requests: RequestCounters;
  setLatency(latency: Latency): void;
  /** The next `count` requests (to `endpoint`, if given) answer `status`, with Retry-After when given. */
  failNext(options?: FailNextOptions): void;
  /** The next `count` requests (to `endpoint`, if given) are never answered. */
  hangNext(count?: number, endpoint?: SimulatorEndpoint): void;
  setQuirks(quirks: SimulatorQuirks): void;
  /** Forgets counts and planned faults. */
  reset(): void;
  close(): Promise<void>;
}

export async function startReccobeatsSimulator(options: ReccobeatsSimulatorOptions = {}): Promise<ReccobeatsSimulator> {
  knownKeys(options, SIMULATOR_OPTIONS, '');
  let catalog = new SimulatedCatalog(options);
  const requests = new RequestCounters();
  const faults = new FaultPlan();
  const logger = options.logger ?? consoleLogger;
  let latency = checkedLatency(options.latency ?? 0);
  let quirks: SimulatorQuirks = options.quirks ?? {};
  const timers = new Set<NodeJS.Timeout>();

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://simulator.invalid');
    const routed = routeRequest(request.method ?? 'GET', url, catalog, quirks);
    requests.begin(routed.endpoint);
    response.once('close', () => requests.end());
    if (routed.trackIds) requests.trackBatches.push(routed.trackIds);
    response.setHeader(SIMULATOR_HEADER, 'true');

    const fault = faults.take(routed.endpoint);
    if (fault?.kind === 'hang') {
      requests.hung += 1;
      return;
    }
    const send = () => {
      timers.delete(timer);
      if (response.destroyed) return;
      const answer: Answer = fault?.kind === 'status'
        ? { status: fault.status, body: { error: `simulated ${fault.status}` } }
        : safely(routed.answer, logger);
      if (fault?.kind === 'status' && fault.retryAfter !== undefined) response.setHeader('retry-after', fault.retryAfter);
      requests.answered(answer.status);
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body));
    };
    const timer = setTimeout(send, delayOf(latency));
    timers.add(timer);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.warn(`${SIMULATOR_NOTICE}; listening on ${url}`);

  return {
    url,
    get catalog() {
      return catalog;
    },
    switchCatalog: (next) => {
      knownKeys(next, CATALOG_OPTIONS, '');
      catalog = new SimulatedCatalog({
        unknownFraction: next.unknownFraction ?? catalog.unknownFraction,
        seed: next.seed ?? catalog.seed,
        browsableTracks: next.browsableTracks ?? catalog.browsableCount,
      });
      logger.warn(`${SIMULATOR_NOTICE}; catalog switched (seed ${catalog.seed}, ${Math.round(catalog.unknownFraction * 100)}% of Spotify IDs unknown)`);
      return catalog;
    },
    requests,
    setLatency: (next) => {
      latency = checkedLatency(next);
    },
    failNext: (fault) => faults.failNext(fault),
    hangNext: (count, endpoint) => faults.hangNext(count, endpoint),
    setQuirks: (next) => {
      quirks = next;
    },
    reset: () => {
      requests.reset();
      faults.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        // Hanging requests and idle keep-alive sockets would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}

function safely(answer: () => Answer, logger: Logger): Answer {
  try {
    return answer();
  } catch (error) {
    logger.error(`ReccoBeats simulator failed to answer: ${(error as Error).message}`);
    return { status: 500, body: { error: 'simulator error' } };
  }
}

function checkedLatency(latency: Latency): Latency {
  const [min, max] = typeof latency === 'number' ? [latency, latency] : [latency.minMs, latency.maxMs];
  if (!(Number.isFinite(min) && Number.isFinite(max) && min >= 0 && max >= min)) {
    throw new RepriseOptionsError('out_of_range', 'latency', 'latency is a number of ms >= 0 or { minMs, maxMs } with 0 <= minMs <= maxMs');
  }
  return latency;
}

function delayOf(latency: Latency): number {
  if (typeof latency === 'number') return latency;
  return latency.minMs + Math.random() * (latency.maxMs - latency.minMs);
}
