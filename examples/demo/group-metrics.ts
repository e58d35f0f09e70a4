/**
 * GET /metrics of the demo under node:cluster (`npm start -- --workers N`): any worker answers with the metrics of the
 * whole group, so Prometheus scrapes the one shared port as it scrapes a single process. The worker that got the
 * request asks the primary over IPC; the primary gathers every worker's registry with prom-client's
 * AggregatorRegistry.clusterMetrics() (each metric combined by its `aggregator`: counters and histograms summed,
 * gauges as src/telemetry/metrics.ts says) and sends the text back. A worker that does not answer within 5 s (stuck,
 * or dying mid-scrape) fails that scrape with 503; prom-client 15.1.3 then keeps the other workers' answers to it in
 * its table of requests (prometheus/client_js#677).
 */
import cluster, { type Worker } from 'node:cluster';
import type { RequestHandler } from 'express';
import { AggregatorRegistry, Registry } from 'prom-client';

const REQUEST = 'reprise-demo:metrics-request';
const ANSWER = 'reprise-demo:metrics';
/** Longer than clusterMetrics()'s own 5 s limit, so the primary's answer (or its error) comes first. */
const ANSWER_TIMEOUT_MS = 10_000;

interface MetricsRequest {
  type: typeof REQUEST;
  id: number;
}

interface MetricsAnswer {
  type: typeof ANSWER;
  id: number;
  text?: string;
  error?: string;
}

const isRequest = (message: unknown): message is MetricsRequest => (message as MetricsRequest | null)?.type === REQUEST;
const isAnswer = (message: unknown): message is MetricsAnswer => (message as MetricsAnswer | null)?.type === ANSWER;

/** In the primary: answers each worker's request with the metrics of all workers. */
export function answerGroupMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isRequest(message)) return;
    const reply = (answer: Omit<MetricsAnswer, 'type' | 'id'>) => {
      if (worker.isConnected()) worker.send({ type: ANSWER, id: message.id, ...answer });
    };
    aggregator.clusterMetrics().then((text) => reply({ text }), (error: Error) => reply({ error: error.message }));
  });
}

/**
 * In a worker, first thing: makes prom-client answer the primary's requests for this worker's metrics (until
 * `shareWithGroup`, from the global registry, which reprise leaves empty).
 */
export function joinGroupMetrics(): void {
  new AggregatorRegistry();
}

/** In a worker: the registry the primary reads from now on (reprise's own: it never uses the global one). */
export function shareWithGroup(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
}

/** In a worker: GET /metrics answered with the group's metrics; concurrent scrapes share one request to the primary. */
export function groupMetricsHandler(): RequestHandler {
  let nextId = 0;
  let inFlight: Promise<string> | null = null;
  return (_req, res) => {
    inFlight ??= askPrimary(nextId++).finally(() => {
      inFlight = null;
    });
    inFlight.then(
      (text) => {
        res.setHeader('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE);
        res.send(text);
      },
      (error: Error) => {
        res.status(503).type('text/plain').send(`the metrics of the worker group could not be gathered: ${error.message}\n`);
      },
    );
  };
}

function askPrimary(id: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (!isAnswer(message) || message.id !== id) return;
      done();
      if (message.error !== undefined) reject(new Error(message.error));
      else resolve(message.text ?? '');
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`the primary did not answer within ${ANSWER_TIMEOUT_MS} ms`));
    }, ANSWER_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      process.off('message', onMessage);
    };
    process.on('message', onMessage);
    const request: MetricsRequest = { type: REQUEST, id };
    process.send!(request, undefined, undefined, (error) => {
      if (error) {
        done();
        reject(error);
      }
    });
  });
}
