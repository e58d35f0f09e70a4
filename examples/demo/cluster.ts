/**
 * The primary process of `npm start -- --workers N`: it forks N workers of the demo that share the port (node:cluster
 * hands each new connection to the next worker), answers their /metrics requests with the whole group's metrics
 * (group-metrics.ts), replaces a worker that dies, and stops them all on SIGINT or SIGTERM. It serves no requests.
 * A worker that stops before it is ready (a port taken, a bad REDIS_URL) stops the demo: replacing it would loop.
 */
import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import { answerGroupMetrics } from './group-metrics.js';

/** What a worker tells the primary once it listens. */
export interface WorkerReady {
  type: 'reprise-demo:ready';
  url: string;
  /** The URL of the worker's ReccoBeats simulator; null with RECCOBEATS_BASE_URL. */
  simulatorUrl: string | null;
  cacheType: string;
}

export const isWorkerReady = (message: unknown): message is WorkerReady =>
  (message as WorkerReady | null)?.type === 'reprise-demo:ready';

export interface ClusterOptions {
  workers: number;
  /** Added to each worker's environment (the admin token, so all workers take the same one). */
  env: Record<string, string>;
  /** Called once, when the first N workers are all ready. */
  started(ready: WorkerReady, pids: number[]): void;
  log(line: string): void;
}

/** After SIGTERM, a worker still running this long is killed. */
const STOP_GRACE_MS = 10_000;

export function runCluster(options: ClusterOptions): void {
  answerGroupMetrics();
  const ready = new Set<Worker>();
  let started = false;
  let stopping = false;
  const name = (worker: Worker) => `worker ${worker.id} (pid ${worker.process.pid})`;

  const fork = () => {
    const worker = cluster.fork(options.env);
    worker.on('message', (message: unknown) => {
      if (!isWorkerReady(message)) return;
      ready.add(worker);
      if (started) {
        options.log(`${name(worker)} ready`);
      } else if (ready.size === options.workers) {
        started = true;
        options.started(message, [...ready].map((each) => each.process.pid!));
      }
    });
    worker.once('exit', (code, signal) => {
      const wasReady = ready.delete(worker);
      if (stopping) return;
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      if (!wasReady) {
        options.log(`${name(worker)} stopped before it was ready (${how}): stopping the demo`);
        void stop(1);
        return;
      }
      options.log(`${name(worker)} died (${how}); starting a replacement`);
      fork();
    });
  };

  const stop = async (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    const alive = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined && !worker.isDead());
    const exited = alive.map((worker) => once(worker, 'exit'));
    // Each worker closes its server, reprise and simulator on SIGTERM, then exits.
    for (const worker of alive) worker.process.kill('SIGTERM');
    const force = setTimeout(() => {
      for (const worker of alive) if (!worker.isDead()) worker.process.kill('SIGKILL');
    }, STOP_GRACE_MS);
    force.unref();
    await Promise.all(exited);
    process.exit(exitCode);
  };

  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  for (let index = 0; index < options.workers; index++) fork();
}
