/**
 * One bench case file in its own node process (so no library warms the JIT or heap for another), driven over IPC:
 * warm-up, then rounds on request, then the result.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REQUEST_VARIABLE, type CaseMessage, type CaseRequest, type CaseResult, type RunnerMessage } from './protocol.js';

const CASES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../cases');
/** Longest wait for any one answer (set-up, warm-up or a round) before the child is declared stuck. */
const ANSWER_TIMEOUT_MS = 60_000;

export class CaseProcess {
  private readonly child: ChildProcess;
  private readonly inbox: CaseMessage[] = [];
  private waiting: (() => void) | undefined;
  private exited = false;
  private stderr = '';

  constructor(readonly label: string, caseFile: string, request: CaseRequest) {
    this.child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(CASES_DIR, `${caseFile}.ts`)], {
      env: { ...process.env, [REQUEST_VARIABLE]: JSON.stringify(request) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-4_000)));
    this.child.on('message', (message: CaseMessage) => {
      this.inbox.push(message);
      this.waiting?.();
    });
    this.child.once('exit', () => {
      this.exited = true;
      this.waiting?.();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async ready(): Promise<void> {
    await this.expect('ready');
  }

  async warmUp(): Promise<void> {
    this.send({ type: 'warm-up' });
    await this.expect('warmed');
  }

  async round(): Promise<number> {
    this.send({ type: 'round' });
    return (await this.expect('sample')).opsPerSecond;
  }

  async finish(): Promise<CaseResult> {
    this.send({ type: 'finish' });
    return (await this.expect('result')).result;
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private send(message: RunnerMessage): void {
    this.child.send(message);
  }

  private async expect<T extends CaseMessage['type']>(type: T): Promise<Extract<CaseMessage, { type: T }>> {
    const deadline = Date.now() + ANSWER_TIMEOUT_MS;
    for (;;) {
      const message = this.inbox.shift();
      if (message?.type === type) return message as Extract<CaseMessage, { type: T }>;
      if (message?.type === 'failed') throw new Error(`${this.label} failed: ${message.message}`);
      if (message) throw new Error(`${this.label} answered ${message.type}, expected ${type}`);
      if (this.exited) throw new Error(`${this.label} exited before answering ${type}: ${this.stderr.trim().split('\n').slice(-5).join('\n')}`);
      if (Date.now() > deadline) {
        this.kill();
        throw new Error(`${this.label} did not answer ${type} within ${ANSWER_TIMEOUT_MS / 1_000} s`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()) + 10);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiting = undefined;
    }
  }
}
