/**
 * The host processes of `bench:load`: N node processes each serving bench/lib/load-host.ts on a free loopback port,
 * all on one Redis. They end when closed, when the bench process exits (even on an error), or when their IPC
 * channel to it goes away.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST_CONFIG_VARIABLE, type HostConfig, type HostMessage, type HostSnapshot } from './load-protocol.js';

const HOST_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'load-host.ts');
const START_TIMEOUT_MS = 30_000;

export interface Host {
  readonly index: number;
  readonly port: number;
  readonly url: string;
  /** Whether this host's Redis connection pipelines automatically, as the host read it from its client. */
  readonly autoPipelining: boolean;
}

export class LoadHosts {
  private readonly children: ChildProcess[] = [];
  private readonly killAll = () => {
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  hosts: Host[] = [];

  constructor(private readonly count: number, private readonly config: HostConfig) {
    process.once('exit', this.killAll);
  }

  async start(): Promise<Host[]> {
    const started = Array.from({ length: this.count }, (_, index) => this.startOne(index));
    this.hosts = await Promise.all(started);
    return this.hosts;
  }

  /**
   * Every host's counters; `prefix` picks the keys whose factory calls are listed one by one, `logSince` (epoch ms)
   * the log lines returned.
   */
  async snapshot(prefix: string, logSince?: number): Promise<HostSnapshot[]> {
    const since = logSince === undefined ? '' : `&since=${logSince}`;
    return Promise.all(
      this.hosts.map(async (host) => {
        const response = await fetch(`${host.url}/bench/snapshot?prefix=${encodeURIComponent(prefix)}${since}`, {
          method: 'POST',
          signal: AbortSignal.timeout(10_000),
        });
        if (!response.ok) throw new Error(`host ${host.index} answered ${response.status} to /bench/snapshot`);
        return (await response.json()) as HostSnapshot;
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all(
      this.children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        if (child.connected) child.send({ type: 'close' });
        else child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    process.off('exit', this.killAll);
  }

  private startOne(index: number): Promise<Host> {
    const child = spawn(process.execPath, ['--import', 'tsx', HOST_FILE], {
      env: { ...process.env, [HOST_CONFIG_VARIABLE]: JSON.stringify(this.config) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.children.push(child);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4_000)));
    return new Promise<Host>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`host ${index} did not listen within ${START_TIMEOUT_MS / 1_000} s: ${stderr.trim()}`));
      }, START_TIMEOUT_MS);
      child.once('message', (message: HostMessage) => {
        clearTimeout(timer);
        resolve({ index, port: message.port, url: `http://127.0.0.1:${message.port}`, autoPipelining: message.autoPipelining });
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`host ${index} exited (${signal ?? code}) before listening: ${stderr.trim().split('\n').slice(-8).join('\n')}`));
      });
    });
  }
}
