/**
 * `npm start` in its own process, as a newcomer or a container runs it: one process, or a node:cluster primary and
 * its workers with `--workers N`. The process prints its URL (and, under node:cluster, its workers' pids) once every
 * worker listens. `stop` sends a signal and waits for the exit; `kill` (for teardown) ends whatever is left: the
 * primary and every worker pid it printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { pollUntil } from './redis-servers.js';

export interface DemoProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** The worker pids of the banner (empty without --workers). */
  readonly workerPids: number[];
  readonly adminToken: string;
  /** stdout and stderr so far, primary and workers together. */
  output(): string;
  /** Sends `signal` and resolves with the exit code once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const started = new Set<{ child: ChildProcess; pids: () => number[] }>();

/** Starts examples/demo/main.ts with `args`; resolves once it has printed its URL. */
export async function startDemoProcess(env: Record<string, string>, args: string[] = []): Promise<DemoProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo/main.ts', ...args], {
    env: { ...process.env, PORT: '0', REDIS_URL: '', RECCOBEATS_BASE_URL: '', REPRISE_ADMIN_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pids = () => pidsIn(output);
  started.add({ child, pids });

  await pollUntil(() => /listening on http:\/\/\S+/.test(output), 'the demo to print its URL', () => child.exitCode !== null, 60_000)
    .catch((error: Error) => {
      throw new Error(`${error.message}\n${output}`);
    });
  return {
    child,
    url: /listening on (http:\/\/\S+)/.exec(output)![1]!,
    workerPids: pids(),
    adminToken: /admin token: (\S+)/.exec(output)![1]!,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exit;
    },
  };
}

/** Every worker pid printed so far: the banner's, and those of replacements. */
function pidsIn(output: string): number[] {
  const banner = /\(pids ([\d, ]+)\)/.exec(output)?.[1]?.split(', ').map(Number) ?? [];
  const replacements = [...output.matchAll(/worker \d+ \(pid (\d+)\) ready/g)].map((match) => Number(match[1]));
  return [...banner, ...replacements];
}

/** True while a process with this pid exists. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Teardown: SIGKILL every demo process started here that still runs (primary first: workers follow it). */
export function killDemoProcesses(): void {
  for (const entry of started) {
    if (entry.child.exitCode === null && entry.child.signalCode === null) entry.child.kill('SIGKILL');
    for (const pid of entry.pids()) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  }
  started.clear();
}

export interface Answer {
  status: number;
  /** The X-Reprise-Worker header: which worker answered (under node:cluster). */
  worker: string | undefined;
  text: string;
}

/** One request on a new connection: node:cluster hands each new connection to the next worker. */
export function send(demo: Pick<DemoProcess, 'url'>, method: 'GET' | 'POST', path: string, body?: object, token?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (body) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    const request = http.request(`${demo.url}${path}`, { method, agent: false, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, worker: response.headers['x-reprise-worker'] as string | undefined, text }));
    });
    request.on('error', reject);
    request.end(body ? JSON.stringify(body) : undefined);
  });
}
