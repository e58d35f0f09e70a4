/**
 * A real Prometheus for the observability tests: found on the PATH or installed from the distribution's packages
 * (Debian's `prometheus` ships promtool too), run on a free loopback port with a temporary TSDB, read through its
 * HTTP API. On CI a Prometheus that cannot be found or installed fails the run; locally the suites skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePort, pollUntil } from './redis-servers.js';

function installed(): boolean {
  const ok = (binary: string) => spawnSync(binary, ['--version'], { encoding: 'utf8' }).status === 0;
  return ok('prometheus') && ok('promtool');
}

/** apt-get install prometheus when we are root on a Debian-like system; waits for a concurrent dpkg run. */
function installFromDistribution(): boolean {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('apt-get', ['--version'], { encoding: 'utf8' }).status === 0;
  if (!isRoot || !hasApt) return false;
  console.warn('[reprise tests] prometheus/promtool not found: installing the distribution package');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (...args: string[]) =>
    spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', ...args], { env, encoding: 'utf8', timeout: 600_000 });
  if (apt('install', '-y', '-qq', 'prometheus').status !== 0) {
    apt('update', '-qq');
    apt('install', '-y', '-qq', 'prometheus');
  }
  return installed();
}

/** True when prometheus and promtool can run (installing them if needed and possible). */
export const hasPrometheus: boolean = (() => {
  const found = installed() || installFromDistribution();
  if (!found && process.env.CI === 'true') {
    throw new Error('prometheus/promtool not found and not installable: CI must install them (.ci/run does so with apt-get)');
  }
  if (!found) console.warn('[reprise tests] prometheus/promtool not found: the Prometheus suites are skipped (apt-get install prometheus)');
  return found;
})();

export interface ToolRun {
  status: number | null;
  /** stdout and stderr together, for failure messages. */
  output: string;
}

/** Runs promtool with `args` (and `input` on stdin), from the repository root. */
export function promtool(args: string[], input?: string): ToolRun {
  const result = spawnSync('promtool', args, { encoding: 'utf8', input, timeout: 60_000 });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/** One sample of an instant query: its labels and value (NaN stays NaN). */
export interface QuerySample {
  metric: Record<string, string>;
  value: number;
}

export interface PrometheusServer {
  readonly url: string;
  readonly dir: string;
  /** Instant query at the current time. Rejects on a PromQL error, naming the expression. */
  query(expr: string): Promise<QuerySample[]>;
  /** The active targets with their health ('up', 'down', 'unknown') and last scrape error. */
  targets(): Promise<Array<{ job: string; scrapeUrl: string; health: string; lastError: string }>>;
  /** Every rule Prometheus loaded, with its evaluation health ('ok', 'err', 'unknown') and last error. */
  rules(): Promise<Array<{ name: string; type: string; health: string; lastError?: string }>>;
  stop(): Promise<void>;
}

/**
 * Starts Prometheus on 127.0.0.1 with `config` (a prometheus.yml as an object; give rule_files as absolute paths).
 * Resolves once /-/ready answers.
 */
export async function startPrometheus(config: object): Promise<PrometheusServer> {
  if (!hasPrometheus) throw new Error('prometheus is not installed');
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), `reprise-prometheus-${port}-`));
  const configFile = path.join(dir, 'prometheus.yml');
  writeFileSync(configFile, stringify(config));
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn('prometheus', [
    `--config.file=${configFile}`,
    `--web.listen-address=127.0.0.1:${port}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    '--storage.tsdb.retention.time=1h',
    '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    log = (log + chunk).slice(-8_000);
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    resolve();
  }));

  const stop = async () => {
    if (!exited) child.kill('SIGTERM');
    await exit;
    rmSync(dir, { recursive: true, force: true });
  };

  const api = async <T>(pathAndQuery: string): Promise<T> => {
    const response = await fetch(`${url}${pathAndQuery}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${pathAndQuery}: ${body.error ?? response.status}`);
    return body.data;
  };

  try {
    await pollUntil(
      () => fetch(`${url}/-/ready`).then((response) => response.ok, () => false),
      `prometheus on port ${port} to be ready`,
      () => exited,
      30_000,
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${log}`);
  }

  return {
    url,
    dir,
    async query(expr) {
      const data = await api<{ resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(
        `/api/v1/query?query=${encodeURIComponent(expr)}`,
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n  in: ${expr}`);
      });
      if (data.resultType === 'scalar') return [{ metric: {}, value: Number((data.result as unknown as [number, string])[1]) }];
      return data.result.map((entry) => ({ metric: entry.metric, value: Number(entry.value[1]) }));
    },
    async targets() {
      const data = await api<{ activeTargets: Array<{ labels: Record<string, string>; scrapeUrl: string; health: string; lastError: string }> }>(
        '/api/v1/targets?state=active',
      );
      return data.activeTargets.map((target) => ({
        job: target.labels.job ?? '',
        scrapeUrl: target.scrapeUrl,
        health: target.health,
        lastError: target.lastError,
      }));
    },
    async rules() {
      const data = await api<{ groups: Array<{ rules: Array<{ name: string; type: string; health: string; lastError?: string }> }> }>(
        '/api/v1/rules',
      );
      return data.groups.flatMap((group) => group.rules);
    },
    stop,
  };
}
